"""Every chapter knob goes through the one parameter reader: a value of the wrong type and one out of range each
stop the chapter with a ParameterError that names the parameter, its value and what is allowed; a parameter the
chapter does not take is refused with the ones it does take."""
import time

from pathlib import Path

import pytest
import torch

from ltnb import params as Pm
from ltnb.chapters import BOOK, module
from ltnb.chapters.door import start

# knob -> (a value of the wrong type, one out of range), as papermill's -p hands them over (text) or -y (lists)
COMMON = {"dataset": (3, "mnist"), "imb": ("abc", "0.5"), "preset": (3, "huge"), "seed": ("abc", "-1"),
          "device": (3, "cuda:abc")}
KNOBS = {
    "baselines": {"tau": ("abc", "-1")},
    "gcl": {"noise_mul": ("abc", "-1"), "s": ("abc", "0"), "cloud": (3, "sin"), "sampler": (3, "uniform"),
            "stage2": (3, "svm"), "strategies": (3, '["cos", "sin"]')},
    "marr": {"gamma": ("abc", "-1"), "iterations": ("abc", "0"), "gammas": ("abc", "[0.4, -1]"),
             "other_losses": ("[1]", "maybe")},
    "angular": {"s": ("abc", "1.5"), "F_form": (3, "cubic"), "aem_s": ("abc", "0"), "tau": ("abc", "-1"),
                "f_form": (3, "cubic"), "shift_bn": ("[1]", "maybe"), "s_sweep": ("abc", "[0, 2]"),
                "tau_sweep": ("abc", "[-1]"), "prune_fractions": ("abc", "[0.5, 1]"), "score_runs": ("abc", "0"),
                "score_epochs": ("abc", "50")},
    "lgla": {"experts": ("abc", "20"), "tau": ("abc", "-1"), "expert_type": (3, "dense"),
             "randaugment": ("[1]", "maybe"), "fusion": ("abc", "[1, 1]"), "sweep": (3, "half")},
    "whitening": {"whitening": ("[1]", "maybe"), "epsilon": ("abc", "0"), "blocks": ("abc", "3"),
                  "r_min": ("abc", "2"), "alpha": ("abc", "0"), "interval": ("abc", "0"),
                  "b3rs_iterations": ("abc", "-1"), "imbs": ("abc", "[100, 0.5]")},
    "leaderboard": {"imbs": ("abc", "[100, 0.5]"), "seeds": ("abc", "[0, -1]"), "methods": ('[["CE"]]', '["CE", "GLC"]'),
                    "subset_seeds": ("abc", "[0]"), "subset_methods": ('[["CE"]]', '["GLC"]'), "table_csv": ([1], "/")},
}
CASES = [(chapter, p.name, kind) for chapter in BOOK for p in module(chapter).PARAMETERS for kind in (0, 1)]


@pytest.mark.parametrize("chapter, name, kind", CASES)
def test_every_knob_refuses_a_wrong_type_and_an_out_of_range_value(chapter, name, kind, tmp_store):
    value = {**COMMON, **KNOBS[chapter]}[name][kind]  # a knob without cases here fails: add its two values
    with pytest.raises(Pm.ParameterError) as err:
        start(chapter, verbose=False, **{"dataset": "fmnist", "preset": "smoke", name: value})
    msg = str(err.value)
    assert msg.startswith(f"parameter {name}=") and ": must be " in msg, msg
    shown = Pm._literal(msg.split(": must be ")[0].removeprefix(f"parameter {name}="))
    assert shown in (value, Pm._literal(value), [Pm._literal(value)]), msg  # the value as given, or as read
    assert not tmp_store.exists() or not any(tmp_store.iterdir())  # nothing trained, nothing stored


def test_the_cases_cover_exactly_the_chapters_knobs():
    for chapter in BOOK:
        names = {p.name for p in module(chapter).PARAMETERS}
        assert set(KNOBS[chapter]) | (names & set(COMMON)) == names, chapter


@pytest.mark.parametrize("name, value, message", [
    ("device", "cuda:abc", "parameter device='cuda:abc': must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N the index of a "
                           "GPU, such as 0)"),
    ("device", "cuda:", "parameter device='cuda:': must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ("fusion", "[1, 1]", "parameter fusion=[1.0, 1.0]: must be None or 3 non-negative numbers, one per expert "
                         "(experts=3), not all zero"),
    ("fusion", "[0, 0, 0]", "parameter fusion=[0.0, 0.0, 0.0]: must be None or 3 non-negative numbers"),
])
def test_device_strings_and_fusion_weights_name_their_parameter(name, value, message):
    with pytest.raises(Pm.ParameterError) as err:  # were torch's RuntimeError and lgla's plain ValueError
        start("lgla", verbose=False, dataset="fmnist", preset="smoke", **{name: value})
    assert str(err.value).startswith(message)


def test_cuda_is_refused_by_name_where_there_is_none_or_not_that_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(Pm.ParameterError, match=r"parameter device='cuda': must be 'auto' or 'cpu' here: this "
                                                r"machine has no CUDA device"):
        start("baselines", verbose=False, dataset="fmnist", preset="smoke", device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(Pm.ParameterError, match=r"parameter device='cuda:1': must be .* with N below 1: this "
                                                r"machine has 1 GPU$"):
        start("baselines", verbose=False, dataset="fmnist", preset="smoke", device="cuda:1")


# ------------------------------------------------------------------ how the reader words what is allowed


def test_bounds_are_written_in_full_and_lists_read_as_english():
    seed = Pm.one_or_list(Pm.number(low=0, high=2 ** 32 - 1, integer=True))
    assert seed.allowed == "an integer >= 0 and <= 4,294,967,295, or a list of them without repeats"
    assert Pm.number(low=0, high=1e-3).allowed == "a number >= 0 and <= 0.001"
    assert Pm.list_of(Pm.number(low=1)).allowed == "a list of numbers >= 1"
    assert Pm.list_of(Pm.choice("a", "b")).allowed == "a list of values among 'a', 'b'"
    assert Pm.list_of(Pm.boolean).allowed == "a list of True or False values"
    with pytest.raises(ValueError, match=r"^a list of integers >= 0 and <= 4,294,967,295, without repeats; 3 appears "
                                         r"more than once$"):
        seed("[3, 3]")
    assert seed("7") == [7] and seed("[0, 1]") == [0, 1] and seed("0, 1") == [0, 1]
    assert Pm.text(2024) == "2024"  # papermill reads -p table_csv 2024 as a number


def test_an_unknown_name_is_refused_with_the_closest_known_one():
    known = ["dataset", "imb", "preset", "seed", "device", "tau"]
    Pm.refuse_unknown({"imb", "tau"}, known)
    with pytest.raises(Pm.ParameterError) as err:
        Pm.refuse_unknown({"imbalance"}, known, "the baselines chapter")
    assert str(err.value) == ("unknown parameter imbalance (did you mean imb?): the baselines chapter takes "
                              "dataset, imb, preset, seed, device, tau")
    with pytest.raises(Pm.ParameterError, match=r"unknown parameters colour, sed \(did you mean seed\?\): "):
        Pm.refuse_unknown({"sed", "colour"}, known)


def test_injected_names_are_the_values_a_notebook_holds_when_its_door_opens_and_only_once():
    import math

    ns = {"imb": 100, "_i1": "", "In": [], "exit": object(), "math": math, "floor": math.floor, "Path": Path}
    ns.update(imbalance=50, _i2="", imb=200)  # papermill's cell: one new name, one known one; IPython's history
    assert Pm.injected(ns) == {"imb", "imbalance"}  # the values: the door refuses those the chapter does not take
    ns.update(np=object(), counts=[1])  # the rest of the notebook ran; the door cell run again by hand checks nothing
    assert Pm.injected(ns) == set()


def test_the_door_refuses_a_name_papermill_added_that_the_chapter_does_not_take():
    from ltnb.chapters import baselines, door

    ns = {"dataset": "fmnist", "imb": 100, "preset": "smoke", "seed": 0, "device": "cpu", "tau": 1.0, "taau": 2.0}
    with pytest.raises(Pm.ParameterError, match=r"unknown parameter taau \(did you mean tau\?\)"):
        door.open(baselines, ns, verbose=False)
    ns = {"dataset": "fmnist", "imb": 50, "preset": "smoke", "seed": 0, "device": "cpu", "tau": 1.0}
    ctx, P, plan = door.open(baselines, ns, verbose=False)
    assert ctx.imb == 50 and ctx.preset.name == "smoke" and P.tau == 1.0


@pytest.mark.parametrize("chapter", BOOK)
def test_a_chapter_refuses_a_name_it_does_not_take_naming_those_it_does(chapter):
    names = ", ".join(p.name for p in module(chapter).PARAMETERS)
    with pytest.raises(Pm.ParameterError) as err:
        start(chapter, {"imbalance"}, verbose=False, dataset="fmnist", preset="smoke")
    assert str(err.value) == f"unknown parameter imbalance (did you mean imb?): the {chapter} chapter takes {names}"


# ------------------------------------------------------------------ the leaderboard's imb and seed


def test_the_leaderboard_takes_imb_and_seed_as_every_chapter_does(tmp_store):
    ctx, P, _ = start("leaderboard", verbose=False, dataset="fmnist", preset="smoke", imb="200", seed="3",
                      methods='["CE"]', subset_methods='["CE"]')
    assert (ctx.imb, P.imbs, ctx.seeds, P.seeds) == (200.0, [200.0], (3,), [3])
    assert "imb 200" in ctx.stamp and "seed 3" in ctx.stamp
    ctx, P, _ = start("leaderboard", verbose=False, dataset="fmnist", preset="smoke", seed="[0, 1, 2]")
    assert (ctx.imb, P.imbs, P.seeds) == (100.0, [100.0], [0, 1, 2])
    with pytest.raises(Pm.ParameterError, match=r"^parameter imb=200.0: must be 'auto' when imbs is given "
                                                r"\(imbs=\[50.0\]\): give one of them$"):
        start("leaderboard", verbose=False, dataset="fmnist", preset="smoke", imb="200", imbs="[50]")
    with pytest.raises(Pm.ParameterError, match=r"^parameter seed=\[1\]: must be 'auto' when seeds is given"):
        start("leaderboard", verbose=False, dataset="fmnist", preset="smoke", seed="1", seeds="[0, 1]")
    with pytest.raises(Pm.ParameterError, match=r"^parameter imb=10000.0: must be at most 6,000 on fmnist"):
        start("leaderboard", verbose=False, dataset="fmnist", preset="smoke", imb="10000")


# ------------------------------------------------------------------ under papermill, as a user runs a chapter


@pytest.mark.slow
@pytest.mark.parametrize("chapter, takes", [("baselines", "the baselines chapter takes dataset, imb, preset, seed"),
                                            ("leaderboard", "the leaderboard chapter takes dataset, imb, imbs, preset"),
                                            ("performance", "the performance page takes bench_dir"),
                                            ("claims", "the claims page takes dataset")])
def test_a_name_the_chapter_does_not_take_stops_it_in_seconds(chapter, takes, tmp_path):
    from chapters import run_chapter

    began = time.monotonic()
    r, *_ = run_chapter(chapter, tmp_path, tmp_path / "runs", "imbalance", "50")
    assert r.returncode != 0 and "ParameterError: unknown parameter imbalance" in r.stderr and takes in r.stderr
    assert time.monotonic() - began < 90  # papermill, a kernel and the imports; a chapter that trains takes minutes
    assert not (tmp_path / "runs").exists()  # nothing trained


@pytest.mark.slow
def test_the_leaderboard_shows_the_imb_it_is_given(tmp_path):
    from chapters import run_chapter

    r, _, text, _ = run_chapter("leaderboard", tmp_path, tmp_path / "runs", "imb", "200", "preset", "smoke",
                                "methods", '["CE"]', "subset_methods", '["CE"]')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Passed unknown parameter" not in r.stderr  # papermill finds imb in the parameters cell
    assert text.splitlines()[0].startswith("ltnb · fmnist-LT imb 200 · preset smoke · seeds 0,1")
    assert "1 method · imbalance 200 · seeds 0, 1 · " in text
