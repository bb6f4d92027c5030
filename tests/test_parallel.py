import pytest

from ltnb.runs import parallel
from ltnb.runs.train import RunConfig, load


def test_concurrent_runs_store_the_same_numbers_as_sequential(tmp_store, tmp_path, monkeypatch):
    # contiguous memory (the workers inherit it): channels-last's kernels drift more between thread counts (1.3% of a
    # smoke run's first-epoch loss here), which would hide what this compares, the runs' own numbers
    monkeypatch.setenv("LTNB_LAYOUT", "contiguous")
    cfgs = [RunConfig(preset="smoke", seed=s) for s in (0, 1)] + [RunConfig(preset="smoke", seed=0, stage2="lws")]
    together = parallel.train_many(cfgs, workers=2, device="cpu", progress=False)
    assert all(load(c) is not None for c in cfgs) and together[2].config.stage2 == "lws"
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "sequential"))
    alone = parallel.train_many(cfgs, workers=1, device="cpu", progress=False)
    # workers use fewer threads each, so float sums reorder: the same first epoch up to that drift (0.03% seen).
    # Later epochs at lr 0.1 amplify it (1.8% by the second on a CPU limited to AVX2), and the accuracy of a
    # 6-step model is noise (3.75 points apart there), so neither is compared.
    for a, b in zip(together[:2], alone[:2]):
        assert a.metrics["history"]["loss"][0] == pytest.approx(b.metrics["history"]["loss"][0], rel=0.01)
    assert together[2].config.parent == cfgs[0] and alone[2].metrics["stage"] == 2


def test_stack_speedup_reads_the_bench_record_else_the_probe(tmp_path):
    import json
    import math

    import pytest

    assert parallel.stack_speedup(1, "cuda", tmp_path) == 1.0
    assert parallel.stack_speedup(16, "cuda", tmp_path) == pytest.approx(123.3 / 32.4)  # no record: the probe
    assert parallel.stack_speedup(4, "cpu", tmp_path) == 1.0  # no record on a CPU: no gain assumed
    rec = {"ltnb_images_per_second": 100.0, "stacked": [{"runs": 4, "aggregate_images_per_second": 300.0},
                                                        {"runs": 16, "aggregate_images_per_second": 500.0}]}
    (tmp_path / "cuda.json").write_text(json.dumps(rec))
    assert parallel.stack_speedup(4, "cuda", tmp_path) == pytest.approx(3.0)
    assert parallel.stack_speedup(8, "cuda", tmp_path) == pytest.approx(4.0)  # halfway in log K between 4 and 16
    assert parallel.stack_speedup(2, "cuda", tmp_path) == pytest.approx(2.0)  # between alone (1) and K = 4
    assert parallel.stack_speedup(64, "cuda", tmp_path) == pytest.approx(5.0)  # beyond the last row: held
    (tmp_path / "cuda.json").write_text(json.dumps({**rec, "stacked": None}))
    assert parallel.stack_speedup(16, "cuda", tmp_path) == pytest.approx(123.3 / 32.4)
    assert math.isfinite(parallel.stack_speedup(3, "cpu"))  # the repository's own CPU record
