"""The recorder's time budget: estimates per run on a GPU, and a stack's time from its runs' times alone."""
import json
from types import SimpleNamespace

import pytest

from ltnb import record
from ltnb.runs import budget
from ltnb.runs.parallel import stack_speedup
from ltnb.runs.train import RunConfig

CW = (("cw_eps", 0.001), ("whiten", True))


def items(*cfgs):
    return [SimpleNamespace(config=c, key=c.key) for c in cfgs]


def test_paper_runs_on_cuda_graphed_eager_and_experts_when_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(budget, "_metrics", lambda cfg: None)
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
    monkeypatch.setattr(budget, "_metrics", lambda cfg: runs.get(cfg.key))
    est = budget.estimates(items(a, b, c), "cuda")
    assert est[c.key] == pytest.approx(100.0)  # the lone run's, not the stacked run's 50 s


def cpu_run(train_seconds, epochs=10):
    return {"device": "cpu", "train_seconds": train_seconds, "threads": 1,
            "history": {"epoch": list(range(1, epochs + 1)), "eval_seconds": 0.0}}


def test_an_unrecorded_run_is_timed_on_the_pool_and_experts_scale_with_their_number(monkeypatch):
    """An exercise's runs are never stored: their time comes from the book's runs of the same kind (the pool), not
    from the default; a multi-expert run's time grows by one (EXPERTS_SHARED + K)-th per expert."""
    ce, new = RunConfig(preset="cpu", seed=0), RunConfig(preset="cpu", seed=7)
    k3 = RunConfig(preset="cpu", head="experts", loss="cla")
    k2 = RunConfig(preset="cpu", head="experts", loss="cla", extra=(("experts", 2),))
    k7 = RunConfig(preset="cpu", head="experts", loss="cla", extra=(("experts", 7),))
    runs = {ce.key: cpu_run(120.0), k2.key: cpu_run(200.0)}
    monkeypatch.setattr(budget, "_metrics", lambda cfg: runs.get(cfg.key))
    alone = budget.estimates(items(new, k3, k7), "cpu")
    assert alone[new.key] == pytest.approx(budget.DEFAULT_SECONDS["cpu"]["cpu"])  # nothing measured among the items
    est = budget.estimates(items(new, k3, k7), "cpu", pool=[ce, k2])
    assert est[new.key] == pytest.approx(120.0)
    s = budget.EXPERTS_SHARED
    assert est[k3.key] == pytest.approx(200.0 * (s + 3) / (s + 2))
    assert est[k7.key] == pytest.approx(200.0 * (s + 7) / (s + 2))
    assert budget.one_after_another([new, k3, new], "cpu", pool=[ce, k2]) == pytest.approx(
        est[new.key] + est[k3.key])  # each run once
    assert budget.one_after_another([], "cpu", pool=[ce]) == 0.0


def test_a_stage_2_on_a_parent_only_recorded_counts_the_parent_once(monkeypatch):
    """A recording lacks the network a stage 2 trains on, so its parent is trained again first: two stage 2s on one
    recorded parent count it once; a parent in the store, or missing and planned as an item of its own, adds
    nothing."""
    monkeypatch.setattr(budget, "_metrics", lambda cfg: None)
    parent, other = RunConfig(preset="cpu", seed=1), RunConfig(preset="cpu", seed=2)
    crt, lws = RunConfig(preset="cpu", seed=1, stage2="crt"), RunConfig(preset="cpu", seed=1, stage2="lws")
    crt2 = RunConfig(preset="cpu", seed=2, stage2="crt")
    assert crt.parent.key == parent.key and crt2.parent.key == other.key
    where = {parent.key: "recorded"}
    monkeypatch.setattr(budget.store, "source", lambda cfg, root=None: where.get(cfg.key))
    est = budget.estimates(items(crt, lws, other, crt2), "cpu")  # nothing of them recorded: every one trains
    one = budget.DEFAULT_SECONDS["cpu"]["cpu"]
    assert est[crt.key] == pytest.approx(8.0 + one) and est[lws.key] == pytest.approx(8.0)
    assert est[crt2.key] == pytest.approx(8.0) and est[other.key] == pytest.approx(one)  # the parent: its own item
    assert set(est) == {crt.key, lws.key, other.key, crt2.key}
    recorded_first = budget.estimates(items(crt, lws), "cpu", todo=[lws.key])  # cRT recorded: LWS trains the parent
    assert recorded_first == {crt.key: pytest.approx(8.0), lws.key: pytest.approx(8.0 + one)}
    where[other.key] = "recorded"  # a parent recorded but planned again (its recording lacks arrays): its own item
    assert budget.estimates(items(other, crt2), "cpu", todo=[other.key, crt2.key])[crt2.key] == pytest.approx(8.0)
    where[parent.key] = "store"
    assert budget.estimates(items(crt), "cpu")[crt.key] == pytest.approx(8.0)


def test_the_plan_divides_the_missing_time_over_the_workers(monkeypatch, capsys):
    a, b = RunConfig(preset="cpu", seed=0), RunConfig(preset="cpu", seed=1)
    book = [record.Item(a, 1, "x: main"), record.Item(b, 1, "x: main")]
    monkeypatch.setattr(record, "book_items", lambda preset, dataset="auto", calls=None: book)
    monkeypatch.setattr(record, "recorded", lambda it: False)
    monkeypatch.setattr(record, "size_of", lambda preset: (0, 0))
    monkeypatch.setattr(budget, "_metrics", lambda cfg: None)
    monkeypatch.setattr(record, "measured_pool", lambda preset: [])
    one = record.print_plan("cpu", "fmnist", "cpu", tiers=(1,), workers=1)[1]["seconds"]
    two = record.print_plan("cpu", "fmnist", "cpu", tiers=(1,), workers=2)[1]["seconds"]
    assert one == pytest.approx(2 * budget.DEFAULT_SECONDS["cpu"]["cpu"]) and two == pytest.approx(one / 2)
    assert "2 runs at a time" in capsys.readouterr().out


def test_a_stack_takes_its_runs_time_over_the_speed_up_and_an_eager_one_at_least_its_slowest_run():
    plain = [RunConfig(preset="paper", seed=s) for s in range(8)]
    assert budget.stack_seconds([125.0] * 8, plain, "cuda") == pytest.approx(8 * 125 / stack_speedup(8, "cuda"))
    cw = [RunConfig(preset="paper", seed=s, extra=CW) for s in range(6)]
    slow = 125.0 * budget.CUDA_EAGER
    assert budget.stack_seconds([slow] * 6, cw, "cuda") == pytest.approx(slow)  # launch-bound: one eager run's time
    assert budget.stack_seconds([3.0] * 4, plain[:4], "cpu") == pytest.approx(12.0 / stack_speedup(4, "cpu"))


def test_record_keeps_its_api():
    assert record.estimates is budget.estimates


def test_recorded_times_are_scaled_to_this_machine_by_the_runs_it_trained(monkeypatch, tmp_store):
    """Machines of one kind differ several times in speed: a network trained here (in the run store) that took twice
    the recorded median of its kind makes every estimate twice the recordings'; with none trained here, the
    recordings' times stand and the plan says they are not this machine's."""
    a, b, c, here, todo = (RunConfig(preset="cpu", seed=s) for s in range(5))
    runs = {a.key: cpu_run(100.0), b.key: cpu_run(120.0), c.key: cpu_run(140.0), here.key: cpu_run(240.0)}
    monkeypatch.setattr(budget, "_metrics", lambda cfg: runs.get(cfg.key))
    where = {k: "recorded" for k in (a.key, b.key, c.key)}
    monkeypatch.setattr(budget.store, "source", lambda cfg, root=None: where.get(cfg.key))
    assert budget.here_speed(budget._measured([a, b, c, here], "cpu")) == (1.0, 0)  # nothing trained here
    assert budget.estimates(items(todo), "cpu", pool=[a, b, c])[todo.key] == pytest.approx(120.0)
    assert "none trained here" in budget.speed_words(items(todo), "cpu", pool=[a, b, c])
    where[here.key] = "store"
    assert budget.here_speed(budget._measured([a, b, c, here], "cpu")) == (pytest.approx(2.0), 1)
    est = budget.estimates(items(todo), "cpu", pool=[a, b, c, here])
    assert est[todo.key] == pytest.approx(240.0)  # the recordings' 100, 120, 140 as this machine takes them; its 240
    assert "its 1 network in the run store took 2.00×" in budget.speed_words(items(todo), "cpu", pool=[a, b, c, here])
    # a run at another preset (80 epochs) is scaled by what the store's runs at 10 say of this machine
    (tmp_store / here.key).mkdir(parents=True)
    (tmp_store / here.key / "config.json").write_text(json.dumps({"preset": "cpu"}))
    monkeypatch.setattr(budget, "measured_pool", lambda preset: [a, b, c, here] if preset == "cpu" else [])
    longer = RunConfig(preset="cpu80", seed=9)
    assert budget.estimates(items(longer), "cpu")[longer.key] == pytest.approx(
        2.0 * budget.DEFAULT_SECONDS["cpu"]["cpu80"])
