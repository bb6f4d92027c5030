"""The recorder: it knows every run of the book from the chapters' plans, records in priority order, stops at
its time budget, resumes, and dispatches to local processes or submitit; recordings render a chapter alone."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from dataclasses import replace
from types import SimpleNamespace

import pytest

from ltnb import chapters, record, store
from ltnb.claims import replicates
from ltnb.config import RunConfig
from ltnb.runs import recordings

ROOT = Path(__file__).resolve().parents[1]
SMALL = (("baselines", {}),)


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "rec"))
    monkeypatch.setenv("LTNB_PROGRESS", "0")
    return tmp_path


@pytest.mark.parametrize("preset", ["cpu", "paper"])
def test_the_book_items_are_every_chapter_run_once_dependencies_first(preset):
    items = record.book_items(preset, "fmnist")
    keys = [it.key for it in items]
    assert len(keys) == len(set(keys))
    expected = set()
    for name, values in chapters.RECORDED_CALLS:
        plan = chapters.plan_for(name, preset, dataset="fmnist", **values)
        expected |= {c.key for c in plan.configs()}
    assert expected <= set(keys)
    position = {k: i for i, k in enumerate(keys)}
    for it in items:  # a run comes after what it starts from
        assert all(position[d.key] < position[it.key] for d in it.config.dependencies())
    tiers = [it.tier for it in items]
    assert tiers == sorted(tiers) and set(tiers) == {1, 2, 3}
    assert any("angular" in it.kinds for it in items) and any("experts" in it.kinds for it in items)


def test_record_stops_at_its_budget_then_resumes_where_it_stopped(dirs):
    out = record.record("smoke", minutes=0, calls=SMALL)
    assert out["trained now"] == 0 and out["left"] == out["planned"] == 15
    out = record.record("smoke", minutes=0.3, calls=SMALL, tiers=(1,))
    # it starts no run past its 18 s; the one in flight then may take a while on a loaded machine
    assert 0 < out["trained now"] <= 9 and out["seconds"] < 0.3 * 60 + 120
    again = record.record("smoke", calls=SMALL)
    assert again["recorded before"] == out["trained now"] + out["recorded before"]
    assert again["left"] == 0 and record.check("smoke") == []
    fit = [json.loads(m.read_text()) for m in (store.recorded_root() / "smoke").glob("*/metrics.json")]
    assert any("parents" in m for m in fit)  # a stage 2 records the accuracy of the network it was fit on
    n, size = record.size_of("smoke")
    assert n == 15 and size < 15 * 60_000


def test_the_budget_skips_what_no_longer_fits_and_counts_a_parent_that_would_train(dirs, monkeypatch):
    items = [it for it in record.book_items("smoke", calls=SMALL) if it.tier == 1]
    # stage 1 would take 100 s here, a stage-2 run 1 s: a 30 s budget fits no stage-1 run, and no stage-2 run
    # whose backbone would have to train first
    monkeypatch.setattr(record, "estimates", lambda its, dev, todo=None: {it.key: 1.0 if it.config.stage2 else 100.0
                                                                          for it in its})
    out = record.record("smoke", minutes=0.5, calls=SMALL, tiers=(1,), stack=1)
    assert out["trained now"] == 0
    backbone = next(it.config for it in items if it.config.stage2).parent
    from ltnb.runs.train import get_or_train

    get_or_train(backbone, device="cpu", progress=False)  # trained earlier, e.g. by a chapter
    out = record.record("smoke", minutes=0.5, calls=SMALL, tiers=(1,), stack=1)
    on_it = [it for it in items if it.config.stage2 and it.config.parent.key == backbone.key]
    assert on_it and out["trained now"] == len(on_it)  # past the stage-1 runs that do not fit, the cheap ones
    assert all(record.recorded(it) for it in on_it) and store.recorded_path(backbone).exists()


def test_parallel_workers_start_a_stage_2_on_a_recorded_parent_at_once_one_per_parent():
    """A stage 2 on a parent the plan does not train (recorded already) need not wait for the stage-1 runs; a second
    stage 2 on the same parent waits for the second wave, as does one on a parent planned here."""
    ce2 = RunConfig(preset="smoke", seed=2)  # seed 1's CE is recorded: not to train
    on1 = [RunConfig(preset="smoke", seed=1, stage2=m) for m in ("crt", "lws")]
    on2 = RunConfig(preset="smoke", seed=2, stage2="crt")
    todo = [SimpleNamespace(config=c, key=c.key) for c in (*on1, ce2, on2)]
    first, later = record.waves(todo)
    assert [it.config for it in first] == [on1[0], ce2] and [it.config for it in later] == [on1[1], on2]
    assert record.waves([]) == ([], [])


def test_submitits_local_executor_records_with_two_workers(dirs, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = record.record("smoke", calls=SMALL, tiers=(1,), workers=2, executor="submitit-local")
    assert out["left"] == 0 and out["trained now"] == 8
    assert not list(tmp_path.glob("ltnb-submitit-*"))  # the jobs' logs go once every job succeeded
    assert all(store.source(it.config) == "store" for it in record.book_items("smoke", calls=SMALL) if it.tier == 1)
    assert record.check("smoke") == []


def test_a_chapter_renders_from_recordings_alone(dirs, tmp_path):
    record.record("smoke", calls=SMALL)
    env = {**os.environ, "LTNB_RUNS": str(tmp_path / "empty"), "LTNB_PRESET": "smoke", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out.ipynb"
    r = subprocess.run([Path(sys.executable).parent / "papermill", "notebooks/baselines.ipynb", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "15 runs: 15 read from the recordings, 0 from the run store, 0 to train here" in out.read_text()
    assert not (tmp_path / "empty").exists()  # nothing was trained, not even a folder made


def test_the_plan_command_lists_tiers_and_what_is_missing(dirs):
    r = subprocess.run([sys.executable, "-m", "ltnb.record", "--plan", "--preset", "smoke"], cwd=ROOT,
                       capture_output=True, text=True, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert "tier 1, main tables:" in r.stdout and "tier 3, ablations and sweeps:" in r.stdout
    assert "missing in all:" in r.stdout and "baselines: stage 1" in r.stdout


def test_the_plan_counts_only_the_tiers_asked_for(dirs, capsys):
    every = record.print_plan("smoke")
    first = record.print_plan("smoke", tiers=(1,))
    assert set(first) == {1} and first[1] == every[1] and set(every) == {1, 2, 3}
    out = capsys.readouterr().out
    assert out.count("tier 3, ablations and sweeps:") == 1  # printed by the first call only


def test_show_prints_a_runs_config_and_its_per_epoch_log(dirs):
    record.record("smoke", calls=SMALL, tiers=(1,))
    key = record.book_items("smoke", calls=SMALL)[0].key
    text = record.show(key)
    assert key in text and "epoch   loss   train acc  test acc" in text and '"loss": "ce"' in text
    assert len([line for line in text.splitlines() if line[:5].strip().isdigit()]) == 2  # two smoke epochs


def test_record_can_stack_compatible_runs(dirs):
    out = record.record("smoke", calls=SMALL, tiers=(1,), stack=4)
    assert out["left"] == 0 and out["trained now"] == 8
    stacked = [store.load(it.config).metrics.get("stacked") for it in record.book_items("smoke", calls=SMALL)
               if it.tier == 1 and not it.config.stage2]
    # CE, CE + mixup, LDAM-DRW, Balanced Softmax: one network; the balanced reference trains on another set, alone
    assert stacked == [4, 4, 4, 4, None]
    assert record.check("smoke") == []


def test_a_slice_trains_the_fullest_stacks_of_a_tier_first(dirs, monkeypatch):
    from ltnb.training.stacked import groups

    class Stop(Exception):
        pass

    seen = []

    def first_stack(cfgs, device, progress=True):
        seen.append(len(cfgs))
        raise Stop

    monkeypatch.setattr(record, "train_stack", first_stack)  # record calls it by name
    with pytest.raises(Stop):
        record.record("smoke", dataset="fmnist", tiers=(1,), stack=8, device="cpu")
    items = [it for it in record.book_items("smoke", "fmnist") if it.tier == 1 and not it.config.dependencies()]
    sizes = [len(g) for g in groups([it.config for it in items], 8)]
    assert sizes[0] < max(sizes)  # in priority order a run that cannot stack comes first (the experts)...
    assert seen == [max(sizes)]  # ...but the fullest stack trains first: the most runs for the GPU minutes


def test_the_seed_groups_add_seeds_of_runs_the_book_shows_in_their_order():
    """Tier 4: seeds 0-2 of what the verdicts read (CE and its balanced reference at the headline setting); tier 5:
    seeds 0-4 of the leaderboard's main table; reseeded configs are the chapters' own (seed 1 is already planned)."""
    shown = record.book_items("long", "fmnist")
    known = {it.key: it for it in shown}
    seeds = record.seed_items("long", "fmnist", shown)
    assert seeds
    for it in seeds:  # a run the book shows already is planned again only to keep more arrays (seed 1's features)
        assert it.key not in known or not it.kinds <= known[it.key].kinds, it
    assert [it.tier for it in seeds] == sorted(it.tier for it in seeds) and {it.tier for it in seeds} == {4, 5}
    ce = [it.config for it in seeds if it.config.label == "ce" and it.tier == 4]
    assert {(100.0, 2), (1.0, 1), (1.0, 2)} <= {(c.imb, c.seed) for c in ce}
    merged = {it.key: it for it in record.planned_items("long", "fmnist")}
    assert len(merged) == len(record.planned_items("long", "fmnist"))  # each run once, its kinds merged
    lb = [it for it in seeds if it.tier == 5]
    assert {it.config.seed for it in lb} == {2, 3, 4}
    for it in seeds:  # seed 1 of the same run is planned by the chapters: reseeding gives their key
        assert replicates.reseeded(it.config, 1).key in known or replicates.reseeded(it.config, 1).key in \
            {s.key for s in seeds}
    # at cpu, both sides of each paper-against-code departure of the leaderboard get seed 2 (its "beyond the noise")
    cpu = record.seed_items("cpu", "fmnist")
    dep = [it for it in cpu if it.where.startswith("replicates: paper vs code")]
    assert dep and {it.config.seed for it in dep} <= {1, 2} and all(it.tier == 4 for it in dep)
    assert any(it.config.stage2 == "tau_norm" for it in dep)  # τ-norm's bias is read by no claim, only this table
    cpu20 = record.seed_items("cpu20", "fmnist")
    assert cpu20 and {it.tier for it in cpu20} == {6} and {it.config.seed for it in cpu20} == {1, 2}
    assert {it.config.preset for it in cpu20} == {"cpu20"}


def test_a_verdicts_replicates_keep_the_arrays_its_first_seeds_recording_keeps():
    """whitening-2 reads CW's test features at cpu, imb 200. Seed 0's recording keeps them although the chapter's
    item for it declares none; seeds 1 and 2 must be planned with them too (recorded without them, they are planned
    again), else the verdict reads 1 seed against 3 however many are recorded."""
    from ltnb.claims import by_id
    from ltnb.claims.reads import Setting, config_of

    setting = Setting("fmnist", 200.0, "cpu", replicates.REPLICATES)
    cw0 = config_of("CW", setting, 0, ())
    kept = replicates.recorded_kinds(cw0)
    assert "features" in kept  # the committed recording of seed 0 keeps them
    assert replicates.recorded_kinds(replace(cw0, imb=3.0)) == set()  # nothing recorded: nothing kept
    items = {it.key: it for it in record.seed_items("cpu", "fmnist")}
    for seed in (1, 2):
        it = items.get(replicates.reseeded(cw0, seed).key)
        assert it is not None and "features" in it.kinds, (seed, it)
    assert by_id("whitening-2").imbs == (200,)


def test_a_parent_trained_again_to_another_result_names_its_recorded_children(tmp_path, capsys):
    """CE + mixup at cpu, imb 200, seed 0, retrained on another CPU kind for a new stage 2, ended 0.8 points from its
    recording; its recorded cRT had been fit on the old network. Overwriting the parent's recording says which
    recorded runs to record again; the same result says nothing."""
    src = Path(__file__).resolve().parents[1] / "results" / "runs" / "cpu"
    for key in ("d0787f8bf0842ca2", "25bd013e0898edac"):  # CE + mixup (200, seed 0) and its cRT
        shutil.copytree(src / key, tmp_path / "cpu" / key)
    parent = RunConfig.from_dict(json.loads((src / "d0787f8bf0842ca2" / "config.json").read_text()))
    assert [c.key for c in recordings.children(parent, tmp_path)] == ["25bd013e0898edac"]
    final = tmp_path / "cpu" / parent.key
    recorded = json.loads((final / "metrics.json").read_text())["accuracy"]
    recordings._warn_if_children_differ(parent, final, {"accuracy": recorded})
    assert capsys.readouterr().out == ""
    recordings._warn_if_children_differ(parent, final, {"accuracy": recorded - 0.0079})
    out = capsys.readouterr().out
    assert "25bd013e0898edac" in out and "record them again" in out


def test_a_recording_fit_on_another_network_of_its_parent_fails_the_check(tmp_path, monkeypatch):
    """A stage 2 records the accuracy of the network it was fit on ("parents"); `make record --check` reports a
    recording whose parent's recording gives another accuracy (the parent trained again elsewhere)."""
    src = Path(__file__).resolve().parents[1] / "results" / "runs" / "cpu"
    for key in ("d0787f8bf0842ca2", "25bd013e0898edac"):
        shutil.copytree(src / key, tmp_path / "cpu" / key)
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path))
    child = tmp_path / "cpu" / "25bd013e0898edac" / "metrics.json"
    parent_acc = json.loads((tmp_path / "cpu" / "d0787f8bf0842ca2" / "metrics.json").read_text())["accuracy"]
    metrics = json.loads(child.read_text())
    for acc, problems in ((parent_acc, 0), (parent_acc + 0.0079, 1)):
        child.write_text(json.dumps(dict(metrics, parents={"d0787f8bf0842ca2": acc})))
        found = recordings.check("cpu")
        assert len(found) == problems, found
    assert "25bd013e0898edac" in found[0] and "record it again" in found[0]
