"""The leaderboard: entries equal to the chapters' runs, subsets, scoring views, claims, and the notebook itself."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from chapters import errors, figures, run_chapter

from ltnb import angular, data as D, evaluate, lgla
from ltnb import leaderboard as L
from ltnb.chapters.leaderboard import entries, select
from ltnb.methods import with_subset
from ltnb.params import ParameterError
from ltnb.runs import RunConfig, get_or_train
from ltnb.training.common import training_set

BASE = dict(dataset="fmnist", imb=100.0, preset="smoke")


def test_entries_build_valid_distinct_configs_that_share_the_chapters_backbones():
    es = entries(10)
    names = [e.name for e in es]
    assert len(names) == len(set(names)) == 27
    cfgs = {e.name: e.config(BASE, 0) for e in es}
    assert cfgs["L2A (stage 1)"] == cfgs["ABS"] == cfgs["CE + mixup"]  # post-hoc views of one stored run
    assert cfgs["CW + L2A"] == cfgs["CW"] and cfgs["L2A (stage 2)"] == cfgs["MiSLAS"]
    assert cfgs["cRT"].parent == cfgs["MARR"].parent == cfgs["CE"]
    assert cfgs["MiSLAS"].parent == cfgs["CE + mixup"] and cfgs["ATL (all)"].parent == cfgs["ATL (AEM)"]
    assert cfgs["GCL + MARR"].parent == cfgs["GCL"].parent  # the new combination reuses GCL's backbone
    assert cfgs["ATL (AEM)"].logit_scale == 16.0 and cfgs["LGLA (3 experts)"].knob("gla_tau") == lgla.official_tau(10)
    assert sum(e.new for e in es) == 2
    assert len(entries(7)) == 20  # no Table 6 B3RS settings for 7 classes: no whitening rows


def test_select_refuses_an_unknown_method_by_name():
    es = entries(10)
    assert [e.name for e in select(es, ["GCL", "CE"])] == ["GCL", "CE"]
    with pytest.raises(ParameterError, match=r"parameter methods=\['GLC'\]: must be names of the leaderboard's "
                                             r"methods \(CE, CE \+ mixup, .*\); 'GLC' is not one \(did you mean 'GCL'\?\)"):
        select(es, ["GLC"])


def test_subset_seed_draws_another_subset_with_the_same_counts():
    cfg = RunConfig(**BASE)
    assert with_subset(cfg, 0) == cfg
    other = with_subset(cfg, 1)
    assert other.key != cfg.key and other.knob("subset_seed") == 1
    a, b = training_set(cfg), training_set(other)
    assert np.array_equal(a.counts, b.counts)
    assert not torch.equal(a.train.labels, b.train.labels) or not torch.equal(a.train.images, b.train.images)
    idx0 = D.lt_indices(np.repeat(np.arange(3), 50), 10, 0)
    idx1 = D.lt_indices(np.repeat(np.arange(3), 50), 10, 1)
    assert len(idx0) == len(idx1) and set(idx0) != set(idx1)


def test_claims_take_the_proposing_papers_own_row():
    es = {e.name: e for e in entries(10)}
    assert L.claimed(es["ABS"]) == 82.01  # Table 2's row, not a point of Table 5's sweep
    assert L.claimed(es["GCL"]) == 82.68 and L.claimed(es["LGLA (3 experts)"]) == 87.5
    assert L.claimed(es["CE"]) == 71.2  # median of 70.7 (gcl), 71.2 (whitening), 78.7 (marr)
    assert sorted(L.quotes(es["CE"])) == [("gcl", 70.7), ("marr", 78.7), ("whitening", 71.2)]
    assert math.isnan(L.claimed(es["GCL + MARR"]))


def test_summarise_is_mean_and_sample_std_in_percent():
    assert L.summarise([0.5, 0.7]) == pytest.approx((60.0, 100 * np.std([0.5, 0.7], ddof=1)))
    m, s = L.summarise([0.5])
    assert m == 50.0 and math.isnan(s)


def test_views_score_the_stored_features(tmp_store):
    es = {e.name: e for e in entries(10)}
    run = get_or_train(es["CE + mixup"].config(BASE, 0), device="cpu", progress=False)
    assert L.score(es["CE + mixup"], run) is run.metrics
    f, W = run.features(), torch.from_numpy(run.arrays["weight"])
    ang = angular.angular_logits(torch.from_numpy(f["test"]), W)
    expect = evaluate.metrics(ang, torch.from_numpy(f["test_labels"]).long(), run.metrics["counts"])[0]
    assert L.score(es["L2A (stage 1)"], run)["accuracy"] == expect["accuracy"]
    after = L.score(es["ABS"], run)
    assert 0 <= after["accuracy"] <= 1 and after != expect
    assert L.cost_seconds(run, lambda c: None) == run.metrics["train_seconds"]
    assert L.parameters(run.config) == sum(v.numel() for k, v in run.state_dict().items()
                                           if "running" not in k and "num_batches" not in k)


SOME = '["CE", "LDAM-DRW", "Balanced Softmax", "cRT", "L2A (stage 1)", "L2A (stage 2)", "ABS", "GCL + MARR", "CW + L2A"]'


@pytest.mark.slow
def test_users_command_builds_the_leaderboard(tmp_path):
    r, outs, text, html = run_chapter("leaderboard", tmp_path, tmp_path / "runs", "preset", "smoke", "methods", SOME,
                                      "table_csv", str(tmp_path / "lb" / "table.csv"))
    assert r.returncode == 0, r.stderr[-3000:]
    csv = pd.read_csv(tmp_path / "lb" / "table.csv", index_col="method")
    assert len(csv) == 9 and set(csv["seeds"]) == {2} and csv["accuracy"].between(0, 100).all()
    assert list(csv["accuracy"]) == sorted(csv["accuracy"], reverse=True)
    assert not errors(outs)
    assert "9 methods · imbalance 100 · seeds [0, 1] · other subsets [1]" in text
    assert "0 read (0 from the recordings)" in text
    assert "Leaderboard, fmnist-LT at imbalance 100" in html
    for name in ("GCL + MARR (new)", "CW + L2A (new)", "L2A (stage 2)", "ABS"):
        assert f">{name}<" in html
    assert figures(outs) == 7  # by split, against cost, spread, best-on-test inflation, budget, ranking, quotes
    for caption in ("Last epoch against the epoch picked on the test set", "shifted test priors",
                    "Paper as written against the official code", "Runs behind the table"):
        assert caption in html
    assert "cRT: classifier initialisation" in html  # a departure of a method on the table, both sides trained
    assert any(v in html for v in ("indistinguishable from CE", "above CE", "below CE"))
    assert "range over 2 seeds" in text and "over 2 subsets" in text
    stored = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    assert sum(dict(c["extra"]).get("subset_seed") == 1 for c in stored) == 3  # one per spread method
    # a second build reads every run and trains nothing
    r2, _, text2, _ = run_chapter("leaderboard", tmp_path, tmp_path / "runs", "preset", "smoke", "methods", SOME)
    assert r2.returncode == 0 and ", 0 trained now" in text2


@pytest.mark.slow
def test_an_unknown_method_fails_before_any_training(tmp_path):
    r, *_ = run_chapter("leaderboard", tmp_path, tmp_path / "runs", "preset", "smoke", "methods", '["CE", "GLC"]')
    assert r.returncode != 0 and "parameter methods=['CE', 'GLC']: must be names of the leaderboard's methods" in r.stderr
    assert "'GLC' is not one (did you mean 'GCL'?)" in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_best_on_test_reads_the_per_epoch_history():
    from types import SimpleNamespace

    run = SimpleNamespace(metrics={"history": {"test_acc": [0.5, float("nan"), 0.8, 0.7]}})
    assert L.best_on_test(run) == (0.8, 3)
    assert L.best_on_test(SimpleNamespace(metrics={})) is None


def test_eval_cost_by_hand():
    from types import SimpleNamespace

    run = lambda ev, tr: SimpleNamespace(metrics={"history": {"eval_seconds": ev}, "train_seconds": tr})  # noqa: E731
    post_hoc = SimpleNamespace(metrics={"history": {}, "train_seconds": 5.0})
    n, median, share = L.eval_cost([run(10.0, 100.0), run(30.0, 100.0), run(20.0, 200.0), post_hoc])
    assert (n, median) == (3, 20.0) and share == pytest.approx(60 / 400)
    assert L.eval_cost([post_hoc])[0] == 0


def test_pooled_sd_and_the_gap_verdict_by_hand():
    sd, df = L.pooled_sd([[1.0, 3.0], [2.0, 4.0, 6.0], [5.0]])  # SS = 2 + 8 = 10 over df = 1 + 2
    assert df == 3 and sd == pytest.approx(math.sqrt(10 / 3))
    diff, se, verdict = L.gap([10.0, 12.0], [5.0, 7.0], 1.0)  # diff 5, se sqrt(1/2 + 1/2) = 1
    assert (diff, se, verdict) == (5.0, 1.0, "above")
    assert L.gap([5.0, 7.0], [5.5, 7.5], 1.0)[2] == "indistinguishable"
    assert L.gap([1.0], [9.0], 1.0)[2] == "below"


def test_shifted_priors_by_hand():
    p = L.lt_prior(3, 4.0)  # 1, 1/2, 1/4 normalised
    assert p == pytest.approx(np.array([4, 2, 1]) / 7)
    assert L.lt_prior(3, 4.0, inverted=True) == pytest.approx(np.array([1, 2, 4]) / 7)
    assert L.lt_prior(5, 1.0) == pytest.approx(np.full(5, 0.2))
    acc = [0.9, 0.6, 0.3]
    assert L.prior_accuracy(acc, p) == pytest.approx((4 * 0.9 + 2 * 0.6 + 0.3) / 7)
    assert L.prior_accuracy(acc, L.lt_prior(3, 1.0)) == pytest.approx(0.6)  # uniform: the balanced accuracy


def test_a_shifted_prior_accuracy_does_not_depend_on_the_order_of_the_classes():
    """The printed tables must not depend on the machine: the sum is exact, so any order of the classes gives the
    same float to the last bit (a BLAS dot product sums in its kernel's order, which differs between CPUs)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        acc = rng.integers(0, 1001, 10) / 1000  # per-class accuracies on 1,000 test images a class
        prior = L.lt_prior(10, float(rng.choice([1.0, 10.0, 50.0])), bool(rng.integers(2)))
        ref = L.prior_accuracy(acc, prior)
        perm = rng.permutation(10)
        assert L.prior_accuracy(acc[perm], prior[perm]) == ref
        assert L.prior_accuracy(acc[::-1], prior[::-1]) == ref


def test_every_departure_names_both_of_its_settings():
    from ltnb.chapters.leaderboard import DEPARTURES, setting_name

    for row, method, knob, book, code, chapter in DEPARTURES:
        assert setting_name(knob, book) != setting_name(knob, code)
        assert str(book) not in (setting_name(knob, book),) and str(code) not in (setting_name(knob, code),), row


def test_budget_table_ranks_and_rank_correlations_on_a_hand_made_axis():
    values = {("CE", 10): 70.0, ("CE", 20): 80.0, ("CE", 40): 85.0,
              ("mixup", 10): 60.0, ("mixup", 20): 82.0, ("mixup", 40): 90.0,
              ("BS", 10): 75.0, ("BS", 20): 81.0, ("BS", 40): 86.0,
              ("LDAM", 10): 72.0, ("LDAM", 20): 79.0}  # not run at 40
    t = L.budget_table(values)
    assert list(t.index) == ["CE", "mixup", "BS", "LDAM"] and list(t.columns) == [10, 20, 40]
    assert math.isnan(t.loc["LDAM", 40])
    r = L.budget_ranks(t)
    assert list(r[10]) == [3, 4, 1, 2] and list(r[40].dropna()) == [3, 1, 2]
    rc = L.rank_correlations(t)
    assert rc.loc[40, "rho"] == pytest.approx(1.0) and rc.loc[40, "methods"] == 3
    # at 10 epochs the order over CE, mixup, BS is (2nd, 3rd, 1st) against (3rd, 1st, 2nd) at 40: rho = -0.5
    assert rc.loc[10, "rho"] == pytest.approx(-0.5) and math.isnan(rc.loc[10, "critical"])  # 3 methods: no test
    assert L.rank_correlations(t, against=20).loc[10, "methods"] == 4


def test_gap_sign_changes_counts_one_seed_each_side():
    t = L.budget_table({("CE", 10): 70.0, ("CE", 20): 80.0, ("CE", 40): 85.0,
                        ("mixup", 10): 60.0, ("mixup", 20): 81.0, ("mixup", 40): 90.0,
                        ("BS", 10): 75.0, ("BS", 20): 81.0, ("BS", 40): 86.0})
    ch = L.gap_sign_changes(t, sd=1.0)  # se = sqrt(2): beyond the noise past 2.83 points on both sides
    assert list(ch["method"]) == ["mixup"] and (ch["from"].iloc[0], ch["to"].iloc[0]) == (10, 20)
    assert ch["gap before"].iloc[0] == -10.0 and ch["gap after"].iloc[0] == 1.0
    assert not ch["beyond the noise"].iloc[0]  # +1 point after is inside the noise
    assert L.gap_sign_changes(t, sd=0.1)["beyond the noise"].iloc[0]
    with pytest.raises(ValueError, match="reference 'LDAM'"):
        L.gap_sign_changes(t, sd=1.0, reference="LDAM")


def test_ranking_moves_counts_swaps_beyond_the_noise_and_reads_rho_against_two_seeds():
    t = L.budget_table({(m, b): v for m, row in {
        "A": (70, 80, 85, 86), "B": (72, 79, 86, 87), "C": (74, 81, 87, 88),
        "D": (76, 82, 84, 85), "E": (78, 83, 88, 89)}.items() for b, v in zip((10, 20, 40, 80), row)})
    # two seeds that order the five methods as (A, B, C, D, E) and (A, B, C, E, D): ρ = 0.9
    s0 = pd.Series({"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0})
    s1 = pd.Series({"A": 1.0, "B": 2.0, "C": 3.0, "D": 5.0, "E": 4.0})
    mv = L.ranking_moves(t, s0, s1, sd=0.5)  # a gap counts past 2 * 0.5 * sqrt(2) = 1.41 points
    assert list(zip(mv["from"], mv["to"])) == [(10, 20), (20, 40), (40, 80)]
    assert list(mv["rho seeds"]) == pytest.approx([0.9] * 3) and (mv["methods"] == 5).all()
    # 10 -> 20: ranks (1,2,3,4,5) against (2,1,3,4,5): ρ = 0.9; A and B swap, by -2 then +1: inside the noise after
    assert mv["rho budgets"].iloc[0] == pytest.approx(0.9) and not mv["below seeds"].iloc[0]
    assert mv["swaps"].iloc[0] == []
    # 20 -> 40: (2,1,3,4,5) against (2,3,4,1,5): ρ = 0.3; D falls behind A (+2 then -1), B (+3 then -2) and
    # C (+1 then -3): only D against B passes 1.41 points on both sides
    assert mv["rho budgets"].iloc[1] == pytest.approx(0.3) and mv["below seeds"].iloc[1]
    assert mv["swaps"].iloc[1] == ["B over D"]
    assert mv["rho budgets"].iloc[2] == pytest.approx(1.0) and mv["swaps"].iloc[2] == []  # 40 -> 80 keeps the order
    # from 10 on: B and D swap between 20 and 40 (and between 10 and 40: -4 then +2); from 40 on nothing does
    assert L.settled_at(t, sd=0.5) == 40
    assert L.settled_at(t[[10, 20, 40]], sd=0.5) is None  # the last doubling swaps a pair: still moving
    assert L.settled_at(t[[10, 20]], sd=0.5) == 10 and L.settled_at(t[[10]], sd=0.5) is None
    # a drift over two doublings counts though neither doubling swaps anything: X falls 1.5 points behind Y twice
    drift = L.budget_table({("X", 10): 82.0, ("X", 20): 81.0, ("X", 40): 80.0,
                            ("Y", 10): 80.0, ("Y", 20): 81.5, ("Y", 40): 83.0})
    assert L.swaps(drift, 10, 20, sd=0.5) == [] and L.swaps(drift, 20, 40, sd=0.5) == []
    assert L.swaps(drift, 10, 40, sd=0.5) == ["Y over X"]
    assert L.settled_at(drift, sd=0.5) == 20  # not 10: the drift from 10 to 40 is a move
    assert L.ranking_moves(t, s0, s1, sd=0.1)["swaps"].iloc[0] == ["A over B"]  # a smaller σ: the swap counts
    # a method missing from a seed drops out of the pair; fewer than four methods: no row
    assert (L.ranking_moves(t, s0.drop("E"), s1, sd=0.5)["methods"] == 4).all()
    assert len(L.ranking_moves(t, s0[["A", "B", "C"]], s1, sd=0.5)) == 0


def test_throughput_spread_reads_the_network_with_the_most_runs():
    rates = {"a": (116738, 1200.0), "b": (116738, 400.0), "c": (116738, 900.0), "d": (338168, 100.0),
             "e": (116738, math.nan), "f": (338168, 500.0)}
    assert L.throughput_spread(rates) == (400.0, 1200.0, 3)  # the 3-expert net's 100 is another network
    lo, hi, n = L.throughput_spread({"x": (1, 0.0)})  # no rate recorded: nothing to read
    assert n == 0 and math.isnan(lo) and math.isnan(hi)
