"""The leaderboard: entries equal to the chapters' runs, subsets, scoring views, claims, and the notebook itself."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from chapters import errors, figures, run_chapter

from ltnb import data as D
from ltnb.kernels import angular, evaluate, lgla
from ltnb.claims import scores as L
from ltnb.chapters.leaderboard import entries, select
from ltnb.methods import with_subset
from ltnb.params import ParameterError
from ltnb.runs.train import RunConfig, get_or_train
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
    assert "9 methods · imbalance 100 · seeds 0, 1 · other subsets 1 for " in text
    assert "0 read (0 from the recordings)" in text
    assert "Leaderboard, fmnist-LT at imbalance 100" in html
    for name in ("GCL + MARR (new)", "CW + L2A (new)", "L2A (stage 2)", "ABS"):
        assert f">{name}<" in html
    assert figures(outs) == 7  # by split, against cost, spread, best-on-test inflation, budget, ranking, quotes
    for caption in ("Last epoch against the epoch picked on the test set", "shifted test priors",
                    "Paper as written against the official code", "Runs behind the table"):
        assert caption in html
    assert "cRT: classifier initialisation" in html  # a departure of a method on the table, both sides trained
    assert "too few runs (2 seeds)" in html  # two seeds a side: no verdict against CE (3 needed)
    assert "standard deviation over 2 seeds" in text and "over 2 subsets" in text
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


def test_a_gap_to_ce_is_judged_by_the_two_methods_own_seeds():
    diff, word, v = L.versus([80.0, 80.4, 80.2], [78.0, 78.2, 78.1])
    assert diff == pytest.approx(2.1) and word == "above" and "Welch" in v.number
    assert L.versus([78.0, 78.2, 78.1], [80.0, 80.4, 80.2])[1] == "below"
    assert L.versus([78.3, 77.9, 78.6], [78.0, 78.2, 77.8])[1] == "indistinguishable"
    assert L.versus([80.0, 80.4], [78.0, 78.2])[1] == "too few runs (2 seeds)"
    noise = np.array([-2.0, 0.0, 2.0])  # the seed moves both sides of a stage-2 method on its backbone
    assert L.versus(80.5 + noise, 80.0 + noise, paired=False)[1] == "indistinguishable"
    assert L.versus(80.5 + noise + [0.0, 0.1, -0.1], 80.0 + noise, paired=True)[1] == "above"


def test_best_is_said_only_beyond_the_noise():
    clear = {"A": [90.0, 90.2, 90.1], "B": [85.0, 85.3, 85.1], "C": [80.0, 80.1, 80.2]}
    assert L.best_beyond_noise(clear, "here").startswith("best here: **A** (90.10), beyond the noise")
    tied = {"A": [90.0, 91.0, 89.5], "B": [89.8, 90.6, 89.9], "C": [80.0, 80.1, 80.2]}
    assert "1 of the methods with 3 seeds or more cannot be told from the highest, A (90.17), by their own seeds: " \
           "B (90.10)" in L.best_beyond_noise(tied)
    few = {"A": [90.0], "B": [80.0]}
    assert "too few runs to name one (at most 1 seed a method" in L.best_beyond_noise(few)
    # a method under 3 seeds is never in a tie (it cannot be judged): named apart where its mean is past the top's
    mixed = {**clear, "D": [95.0, 70.0], "E": [85.2, 85.0]}
    out = L.best_beyond_noise(mixed, "here")
    assert out.startswith("best here: **A** (90.10), beyond the noise") and "against each of the other 2 with 3" in out
    assert "E (" not in out and "not judged" not in out  # D's mean 82.5 and E's 85.1 are below A's
    mixed["D"] = [95.0, 94.0]
    assert L.best_beyond_noise(mixed, "here").endswith("not judged (under 3 seeds), with a higher mean: D (94.50, 2 seeds)")
    assert L.best_beyond_noise(clear, highest=False).startswith("lowest: **C**")


def test_runs_that_share_a_training_run_are_paired():
    from types import SimpleNamespace as NS

    from ltnb.config import RunConfig

    ce = [NS(config=RunConfig(seed=s)) for s in (0, 1, 2)]
    crt = [NS(config=RunConfig(seed=s, stage2="crt")) for s in (0, 1, 2)]
    ldam = [NS(config=RunConfig(seed=s, loss="ldam", drw=True)) for s in (0, 1, 2)]
    assert L.shares_runs(crt, ce) and not L.shares_runs(ldam, ce) and not L.shares_runs(crt[:2], ce)
    # with more seeds of CE recorded than of cRT, the pairing reads the seeds both have, seed by seed
    ce4 = ce + [NS(config=RunConfig(seed=3))]
    noise = [-2.0, 0.0, 2.0, 5.0]
    diff, word, v = L.against([80.5 + n + d for n, d in zip(noise, [0.0, 0.1, -0.1])], crt,
                              [80.0 + n for n in noise], ce4)
    assert word == "above" and v.seeds == (3, 3) and "paired" in v.number and diff == pytest.approx(0.5)
    diff, word, v = L.against([80.0, 80.4, 80.2], ldam, [78.0 + n for n in noise], ce4)  # independent: Welch, all
    assert v.seeds == (3, 4) and "Welch" in v.number


def test_the_table_reads_further_seeds_only_where_recorded_and_only_under_auto():
    from ltnb.chapters import leaderboard as LB, plan_for
    from ltnb.claims.reads import SEEDS_READ

    assert LB.MORE_SEEDS == SEEDS_READ
    plan = plan_for("leaderboard", "cpu", dataset="fmnist", methods=["CE", "cRT"], subset_methods=["CE"])
    g = plan.groups[LB.more_seeds_group(100.0)]
    assert g.optional and g.main and set(g.rows) == {(m, sd) for m in ("CE", "cRT") for sd in range(2, 8)}
    assert all(c.preset == "long" for cfgs in plan_for("leaderboard", "long", dataset="fmnist", methods=["CE"], subset_methods=["CE"])
               .groups[LB.more_seeds_group(100.0)].rows.values() for c in cfgs)  # the table's preset, not moved
    assert LB.more_seeds_group(100.0) not in plan_for("leaderboard", "cpu", dataset="fmnist", methods=["CE"], subset_methods=["CE"],
                                                      seeds=[0, 1]).groups  # seeds given: those only


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


def test_gap_sign_changes_are_read_off_one_run_a_side():
    t = L.budget_table({("CE", 10): 70.0, ("CE", 20): 80.0, ("CE", 40): 85.0,
                        ("mixup", 10): 60.0, ("mixup", 20): 81.0, ("mixup", 40): 90.0,
                        ("BS", 10): 75.0, ("BS", 20): 81.0, ("BS", 40): 86.0})
    ch = L.gap_sign_changes(t)
    assert list(ch["method"]) == ["mixup"] and (ch["from"].iloc[0], ch["to"].iloc[0]) == (10, 20)
    assert ch["gap before"].iloc[0] == -10.0 and ch["gap after"].iloc[0] == 1.0
    assert "beyond the noise" not in ch.columns  # one run a side: no noise of its own to judge by
    with pytest.raises(ValueError, match="reference 'LDAM'"):
        L.gap_sign_changes(t, reference="LDAM")


def test_throughput_spread_reads_the_network_with_the_most_runs():
    rates = {"a": (116738, 1200.0), "b": (116738, 400.0), "c": (116738, 900.0), "d": (338168, 100.0),
             "e": (116738, math.nan), "f": (338168, 500.0)}
    assert L.throughput_spread(rates) == (400.0, 1200.0, 3)  # the 3-expert net's 100 is another network
    lo, hi, n = L.throughput_spread({"x": (1, 0.0)})  # no rate recorded: nothing to read
    assert n == 0 and math.isnan(lo) and math.isnan(hi)
