import numpy as np

from ltnb import parallel
from ltnb.runs import RunConfig, load


def test_concurrent_runs_store_the_same_numbers_as_sequential(tmp_store, tmp_path, monkeypatch):
    cfgs = [RunConfig(preset="smoke", seed=s) for s in (0, 1)] + [RunConfig(preset="smoke", seed=0, stage2="lws")]
    together = parallel.train_many(cfgs, workers=2, device="cpu", progress=False)
    assert all(load(c) is not None for c in cfgs) and together[2].config.stage2 == "lws"
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "sequential"))
    alone = parallel.train_many(cfgs, workers=1, device="cpu", progress=False)
    # workers use fewer threads each, so float sums reorder: the same numbers up to that drift
    for a, b in zip(together[:2], alone[:2]):
        assert np.allclose(a.metrics["history"]["loss"], b.metrics["history"]["loss"], rtol=0.02)
    for a, b in zip(together, alone):
        assert abs(a.metrics["accuracy"] - b.metrics["accuracy"]) <= 0.05
