"""The recorder's time budget: estimates per run on a GPU, and a stack's time from its runs' times alone."""
from types import SimpleNamespace

import pytest

from ltnb import budget, record
from ltnb.parallel import stack_speedup
from ltnb.runs import RunConfig

CW = (("cw_eps", 0.001), ("whiten", True))


def items(*cfgs):
    return [SimpleNamespace(config=c, key=c.key) for c in cfgs]


def test_paper_runs_on_cuda_graphed_eager_and_experts_when_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(budget.store, "exists", lambda cfg: False)
    plain, cw = RunConfig(preset="paper"), RunConfig(preset="paper", extra=CW)
    lgla = RunConfig(preset="paper", head="experts", loss="balanced_softmax")
    est = budget.estimates(items(plain, cw, lgla), "cuda")
    assert est[plain.key] == pytest.approx(125.0)  # 93 s training on an H100 + about 30 s evaluating every epoch
    assert est[cw.key] == pytest.approx(125.0 * budget.CUDA_EAGER) and 2.8 < budget.CUDA_EAGER < 2.9
    assert est[lgla.key] == pytest.approx(2.5 * est[cw.key])  # no CUDA graph for experts either


def test_measured_runs_count_only_when_trained_alone_and_with_their_evaluation(monkeypatch):
    a, b, c = (RunConfig(preset="paper", seed=s) for s in (0, 1, 2))
    hist = lambda: {"epoch": list(range(1, 201)), "eval_seconds": 20.0}  # noqa: E731
    runs = {a.key: {"device": "cuda:0", "train_seconds": 80.0, "history": hist()},  # alone: 100 s with evaluation
            b.key: {"device": "cuda:0", "train_seconds": 30.0, "stacked": 8, "history": hist()}}  # a stack's share
    monkeypatch.setattr(budget.store, "exists", lambda cfg: cfg.key in runs)
    monkeypatch.setattr(budget.store, "load", lambda cfg: SimpleNamespace(metrics=runs[cfg.key]))
    est = budget.estimates(items(a, b, c), "cuda")
    assert est[c.key] == pytest.approx(100.0)  # the lone run's, not the stacked run's 50 s


def test_a_stack_takes_its_runs_time_over_the_speed_up_and_an_eager_one_at_least_its_slowest_run():
    plain = [RunConfig(preset="paper", seed=s) for s in range(8)]
    assert budget.stack_seconds([125.0] * 8, plain, "cuda") == pytest.approx(8 * 125 / stack_speedup(8, "cuda"))
    cw = [RunConfig(preset="paper", seed=s, extra=CW) for s in range(6)]
    slow = 125.0 * budget.CUDA_EAGER
    assert budget.stack_seconds([slow] * 6, cw, "cuda") == pytest.approx(slow)  # launch-bound: one eager run's time
    assert budget.stack_seconds([3.0] * 4, plain[:4], "cpu") == pytest.approx(12.0 / stack_speedup(4, "cpu"))


def test_record_keeps_its_api():
    assert record.estimates is budget.estimates
