"""The exercises at the end of each chapter: valid parameters, a command that says them, a cost from make plan."""
import re
import shlex
from pathlib import Path

import pytest

from ltnb import chapters, params as Pm
from ltnb.claims import exercises as X

X_ROOT = Path(__file__).resolve().parents[1]


def test_every_chapter_of_the_papers_has_three_or_four_exercises():
    assert set(X.EXERCISES) == set(chapters.BOOK) - {"leaderboard"}
    assert all(3 <= len(v) <= 4 for v in X.EXERCISES.values())
    for exs in X.EXERCISES.values():
        assert all(ex.title and ex.params and len(ex.look) > 30 for ex in exs)


@pytest.mark.parametrize("chapter", sorted(X.EXERCISES))
def test_an_exercise_command_reads_back_as_its_parameters(chapter):
    """The command's -p values, read as papermill hands them over (text), give the exercise's parameters."""
    spec = chapters.module(chapter).PARAMETERS
    for ex in X.EXERCISES[chapter]:
        words = shlex.split(X.command(chapter, ex.params))
        assert words[:3] == ["papermill", f"notebooks/{chapter}.ipynb", "out.ipynb"]
        given = dict(zip(words[4::3], words[5::3]))
        assert words[3::3] == ["-p"] * len(ex.params) and set(given) == set(ex.params)
        assert {k: v for k, v in Pm.read(spec, given).items() if k in ex.params} == \
            {k: Pm.read(spec, ex.params)[k] for k in ex.params}


def test_an_exercise_costs_what_make_plan_estimates_for_its_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path))
    n, secs = X.cost("gcl", {"noise_mul": 0.0})  # a new stage 1 and its stage-2 runs: minutes, not seconds
    assert n >= 2 and secs > 60
    assert X.cost("baselines", {"tau": 2.0}) == (0, 0.0)  # post hoc on recorded runs: nothing trains


READERS = sorted(X_ROOT.glob("notebooks/*.py")) + [X_ROOT / "ltnb" / "claims" / f for f in ("readouts.py", "scores.py",
                                                                                          "evidence.py")] \
    + sorted(X_ROOT.glob("ltnb/chapters/*.py"))


def _array_reads(text: str) -> set[str]:
    """The keys read straight off a run's arrays: ``run.arrays["k"]``, or ``a = run.arrays`` and then ``a["k"]``."""
    keys = set(re.findall(r'\.arrays\["(\w+)"\]', text))
    for alias in re.findall(r'^\s*(\w+) = [\w\[\]\.]+\.arrays\s*(?:#.*)?$', text, flags=re.M):
        keys |= set(re.findall(rf'\b{alias}\["(\w+)"\]', text))
    return keys


def test_the_array_reader_finds_direct_and_aliased_reads():
    assert _array_reads('x = run.arrays["weight"]\na = r[0].arrays\ny = a["omega"] + b["no"]\n') == {"weight", "omega"}


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.name)
def test_a_chapter_reads_off_a_run_only_what_every_recording_keeps(path):
    """A recording keeps the small arrays of recordings.KEPT; anything else (features, test labels, angular or
    expert logits) a chapter reads through derived.get or derived.test_labels, which train a recorded run that
    lacks it. A direct read worked on a fresh run and stopped two exercises on a recorded one: '-p cloud cos' in
    gcl (KeyError 'test_features'), '-p experts 2' in lgla (KeyError 'test_labels', the K = 2 run being recorded
    for Fig. 7 without its test arrays)."""
    from ltnb.runs.recordings import KEPT

    assert _array_reads(path.read_text()) <= set(KEPT)


def test_an_exercise_names_no_split_column_its_factor_leaves_empty_and_states_premises_from_runs():
    """At imbalance 10 no class is 'medium' or 'few' (the smallest keeps 600 images): an exercise there may not send
    the reader to those columns. An exercise's gaps are the runs' own (its premise), not words the table refutes."""
    import re

    from ltnb import data
    from ltnb.claims import evidence
    from ltnb.claims import Claim
    from ltnb.claims.exercises import EXERCISES
    from ltnb.methods import REGISTRY

    info = data.dataset_info("fmnist")
    for chapter, exs in EXERCISES.items():
        for ex in exs:
            imb = float(ex.params.get("imb", 100))
            counts = data.lt_counts(info.train_per_class, info.num_classes, imb)
            empty = [name for name, has in (("medium", any(20 <= n <= 100 for n in counts)),
                                            ("few", any(n < 20 for n in counts))) if not has]
            for name in empty:
                assert not re.search(rf"\b{name} column", ex.look), (chapter, ex.title, name)
            for a, b, kb in ex.premise:
                assert a in REGISTRY and b in REGISTRY, (chapter, ex.title)
                v = evidence.evaluate(Claim("premise", "gcl", "", "", "beats", a=a, b=b, kb=kb),
                                      evidence.Setting("fmnist", 100.0, "cpu"))
                assert v.value == v.value, (chapter, ex.title, a, b, v)  # read off recorded runs
            assert not re.search(r"(stays? ahead|still help|gain over)", ex.look), (chapter, ex.title)


def test_an_exercise_premise_says_the_verdict_of_the_box_for_the_same_claim():
    """A premise that is a claim of the chapter's paper (MARR against Balanced Softmax is marr-12) prints the word
    the chapter's verdict box prints: the paper's gap and the page's false discovery rate included."""
    from ltnb.claims import CLAIMS, evidence
    from ltnb.claims.exercises import EXERCISES, premise

    setting = evidence.Setting("fmnist", 100.0, "cpu")
    checked = 0
    for chapter, exs in EXERCISES.items():
        for ex in exs:
            for a, b, kb in ex.premise:
                same = [c for c in CLAIMS if c.paper == chapter and c.kind == "beats" and c.metric == "accuracy"
                        and (c.a, c.b, c.ka, c.kb) == (a, b, (), kb)]
                if same:
                    word = evidence.verdicts_at(setting)[0][same[0].id].verdict
                    part = next(p for p in premise(ex, setting, chapter).split("; ") if f"{a} − {b}" in p)
                    assert f"({word}" in part, (chapter, same[0].id, word, part)
                    checked += 1
    assert checked >= 3
