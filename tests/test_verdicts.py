"""The verdict rules on synthetic runs whose answer is known: a clear effect holds, a flat one is inside the noise,
a reversed one does not hold, too few runs decide nothing, an interval below the paper's gap is smaller than
claimed; the machinery's false-positive rate (A/A) and the power behind "the smallest detectable gap" measured.
Every random draw comes from a fixed generator: the rates below are the same on every machine."""
import math
from dataclasses import replace

import numpy as np
import pytest

from ltnb import stats as V

SIZES = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])  # head first, as the long-tailed sets


@pytest.mark.parametrize("a, b, expected", [
    ([80.0, 80.4, 80.2], [78.0, 78.2, 78.1], V.HOLDS),
    ([78.3, 77.9, 78.6], [78.0, 78.2, 77.8], V.NOISE),
    ([76.0, 76.2, 76.1], [78.0, 78.2, 78.1], V.FAILS),
])
def test_a_difference_of_means_is_judged_by_its_own_runs_welch(a, b, expected):
    v = V.compare(a, b)
    assert v.verdict == expected
    assert "Welch" in v.number and "3 seeds" in v.number
    assert v.lo < v.value < v.hi and v.seeds == (3, 3)


def test_welch_matches_scipy_and_its_degrees_of_freedom():
    from scipy import stats

    a, b = [81.0, 82.5, 80.2, 81.7], [79.0, 79.3, 79.1]
    v = V.compare(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval()
    assert (v.lo, v.hi) == pytest.approx((ci.low, ci.high)) and v.p == pytest.approx(ref.pvalue)
    assert f"{ref.df:.1f} d.o.f." in v.number and "4 seeds against 3" in v.number


def test_runs_that_share_their_training_run_are_compared_paired():
    """Two views of the same three runs: each seed moves both, so the paired difference is tight where the
    unpaired one is lost in the seed noise."""
    seed_noise = np.array([-2.0, 0.0, 2.0])
    a, b = 80.0 + seed_noise + np.array([0.5, 0.6, 0.55]), 80.0 + seed_noise
    assert V.compare(a, b).verdict == V.NOISE
    v = V.compare(a, b, paired=True)
    assert v.verdict == V.HOLDS and "paired, 2.0 d.o.f." in v.number
    with pytest.raises(ValueError, match="same seeds"):
        V.compare([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)


def test_fewer_than_three_runs_a_side_decide_nothing_and_say_so():
    v = V.compare([81.2, 81.0], [80.0, 80.1, 80.2])
    assert v.verdict == V.TOO_FEW and "too few runs: 2 seeds against 3" in v.number
    assert v.value == pytest.approx(81.1 - 80.1) and v.p != v.p  # no test, so nothing for the FDR
    with pytest.raises(ValueError, match="at least one run"):
        V.compare([], [1.0])


def test_an_interval_below_the_papers_gap_is_smaller_than_claimed():
    a, b = [80.5, 80.7, 80.6], [80.0, 80.2, 80.1]  # +0.5, interval about [+0.27, +0.73]
    v = V.compare(a, b, paper=1.7, paper_where="CIFAR-10-LT")
    assert v.verdict == V.SMALLER and "the paper's CIFAR-10-LT gap +1.70" in v.number
    assert V.compare(a, b, paper=0.6).verdict == V.HOLDS  # the interval reaches the paper's gap: holds
    assert V.compare(b, a, paper=1.7).verdict == V.FAILS  # the opposite way: does not hold, whatever the paper says
    noisy = V.compare([80.0, 81.0, 79.5], [80.2, 79.4, 80.4], paper=9.0)
    assert noisy.verdict == V.SMALLER and "smallest detectable gap" in noisy.number
    # the number says which of the two it is: an effect short of the paper's, or an interval that holds zero
    assert v.number.endswith("above zero, below the paper's gap")
    assert noisy.number.endswith("below the paper's gap, and the interval holds zero")


def test_a_narrow_interval_is_printed_with_the_digits_it_needs():
    """A statistic of features can differ by thousandths: '+0.00 [-0.00, +0.00]' would say nothing."""
    v = V.compare([0.310, 0.312, 0.311], [0.300, 0.301, 0.302], unit="")
    assert "Δ = +0.0100, 95% interval [+0.0077, +0.0123]" in v.number  # the width (0.0046) to two figures
    wide = V.compare([80.5, 80.7, 80.6], [80.0, 80.2, 80.1])
    assert "Δ = +0.50 points, 95% interval [+0.27, +0.73]" in wide.number  # two digits where they suffice


def test_identical_runs_on_each_side_are_exact():
    v = V.compare([3.0, 3.0, 3.0], [2.0, 2.0, 2.0])
    assert v.verdict == V.HOLDS and v.lo == v.hi == 1.0 and v.p == 0.0


def test_one_run_read_twice_is_not_a_comparison():
    """Paired sides equal on every seed are one run read twice (MARR on a backbone at 50 against MARR at 50): nothing
    to test, not "inside the noise" with an interval of [0, 0]; equal means from different runs are still compared."""
    v = V.compare([80.1, 81.0, 79.5], [80.1, 81.0, 79.5], paired=True)
    assert v.verdict == V.UNTESTABLE and "one run" in v.number
    assert V.compare([80.1, 81.0, 79.5], [81.0, 79.5, 80.1]).verdict == V.NOISE  # independent runs, same mean


def test_the_smallest_detectable_gap_shrinks_with_seeds_and_has_about_its_power():
    """The gap is stated at 80% power for the test's own degrees of freedom; Welch's test estimates them, so with 3
    seeds a side the simulated power at the stated gap is about 71%, with 5 about 77% (this generator: 0.71, 0.77)."""
    assert V.detectable_gap(1.0, 2) > V.detectable_gap(1.0, 8) > V.detectable_gap(1.0, 200) > 2.81
    assert V.detectable_gap(1.0, 10 ** 5) == pytest.approx(1.960 + 0.842, abs=0.01)  # the normal limit
    rng = np.random.default_rng(0)
    for n, low in ((3, 0.65), (5, 0.72)):
        gap = V.detectable_gap(math.sqrt(2 / n), 2 * n - 2)
        power = np.mean([V.compare(rng.standard_normal(n) + gap, rng.standard_normal(n)).verdict == V.HOLDS
                         for _ in range(1500)])
        assert low < power < 0.85, (n, power)


def test_the_a_a_rate_sits_at_or_below_the_5_percent_level():
    """A method against itself, its seeds split in two: Welch's test should decide about 5% of the time (it is
    conservative at 2 against 3: this generator gives 3.4% over 3,000 splits of 300 synthetic methods)."""
    rng = np.random.default_rng(0)
    out = V.aa_rate([rng.standard_normal(5) for _ in range(300)])
    assert out["comparisons"] == 3000 and 0.015 < out["rate"] < 0.07
    low, high = out["ci"]
    assert low < out["rate"] < high and low < 0.05 < high + 0.02
    few = V.aa_rate([[0.0, 1.0, 0.5, 0.7]])  # 0 of 3 decided: the interval still reaches 71% (1 - 0.025 ** (1/3))
    assert few["decided"] == 0 and few["ci"][0] == 0 and abs(few["ci"][1] - (1 - 0.025 ** (1 / 3))) < 1e-9
    shifted = V.aa_rate([np.r_[rng.standard_normal(2) + 8.0, rng.standard_normal(2)] for _ in range(50)])
    assert shifted["rate"] > 0.1  # a machinery that sees a real split does decide: the rate can fail
    assert len(shifted["which"]) == shifted["decided"] and all(split == ((0, 1), (2, 3)) for _, split in
                                                                 shifted["which"])  # the shifted halves, named
    assert V.aa_rate([[1.0, 2.0, 3.0]])["comparisons"] == 0  # under 4 seeds: no split
    assert V.aa_splits(4) == [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]


def test_a_trend_is_read_per_seed_then_across_seeds():
    rng = np.random.default_rng(0)
    grows = [np.log(SIZES) + 0.3 * rng.standard_normal(10) for _ in range(3)]
    v = V.trend_per_seed(grows, SIZES, "head")
    assert v.verdict == V.HOLDS and "3 seeds" in v.number and v.value > 0.8
    assert V.trend_per_seed([-g for g in grows], SIZES, "head").verdict == V.FAILS
    assert V.trend_per_seed([-g for g in grows], SIZES, "tail").verdict == V.HOLDS
    flat = [rng.standard_normal(10) for _ in range(3)]
    assert V.trend_per_seed(flat, SIZES, "head").verdict == V.NOISE
    one = V.trend_per_seed(grows[:1], SIZES, "head")
    assert one.verdict == V.TOO_FEW and "1 seed" in one.number
    # a per-seed x (another quantity of the same runs) instead of the class sizes
    assert V.trend_per_seed(grows, [g * 2 for g in grows], "head").verdict == V.HOLDS


def test_a_trend_against_the_balanced_reference_removes_what_the_class_itself_brings():
    """A hard class that is large (Shirt on Fashion-MNIST): raw accuracy shows no trend with size, what the
    imbalance costs each class (long-tailed minus reference) does, seed by seed."""
    rng = np.random.default_rng(2)
    difficulty = np.zeros(10)
    difficulty[0] = -60.0  # the largest class is the hardest
    difficulty[1] = -50.0
    cost = np.linspace(0, 30, 10)  # the imbalance costs the tail most
    balanced = [90.0 + difficulty + rng.standard_normal(10) for _ in range(3)]
    lt = [b - cost + rng.standard_normal(10) for b in balanced]
    assert V.trend_per_seed(lt, SIZES, "head").verdict != V.HOLDS  # the raw curve hides it
    rel = [V.against_reference(a, b) for a, b in zip(lt, balanced)]
    assert V.trend_per_seed(rel, SIZES, "head").verdict == V.HOLDS
    norms = np.exp(np.linspace(0.3, 0, 10))
    assert np.allclose(V.against_reference(norms * 2, norms, log=True), np.log(2))  # a uniform scale is no trend
    with pytest.raises(ValueError, match="positive"):
        V.against_reference([-1.0], [1.0], log=True)


def test_the_critical_rank_correlation_matches_the_tables():
    # t approximation: 0.63 at n = 10 (the exact table gives 0.648), 0.197 at n = 100 (table: 0.197)
    assert V.critical_rho(10) == pytest.approx(0.632, abs=0.002)
    assert V.critical_rho(100) == pytest.approx(0.197, abs=0.002)
    with pytest.raises(ValueError, match="at least 4"):
        V.critical_rho(3)


def test_the_false_discovery_rate_turns_chance_decisions_back_into_noise():
    """Benjamini-Hochberg over a page's tests: of 20 tests, one at p = 0.03 among nulls is not a discovery; four at
    p = 0.001 are."""
    def at(p, verdict=V.HOLDS):
        return V.Verdict(verdict, "n", p=p)

    vs = [at(0.001)] * 4 + [at(0.03)] + [at(0.5, V.NOISE)] * 15 + [V.Verdict(V.UNTESTABLE, "why")]
    out, summary = V.fdr(vs)
    assert [v.verdict for v in out[:5]] == [V.HOLDS] * 4 + [V.NOISE]
    assert "false discovery rate over 20 tests" in out[4].number and out[-1].verdict == V.UNTESTABLE
    assert summary["tests"] == 20 and summary["decided"] == 5 and summary["decided after"] == 4
    assert summary["chance uncorrected"] == pytest.approx(1.0) and summary["chance after"] == pytest.approx(0.2)
    assert "smallest detectable" not in out[4].number  # (a verdict without a power statement gets none made up)
    # a does-not-hold demoted: its interval below the paper's gap keeps it "smaller than claimed" (the precedence
    # compare gives that over inside the noise); without a paper's gap it is inside the noise, its power stated
    below = V.Verdict(V.FAILS, "d", -0.6, -1.1, -0.2, p=0.03, detectable=0.8, paper=3.3)
    out, _ = V.fdr([below, replace(below, paper=math.nan)] + [at(0.5, V.NOISE)] * 18)
    assert [v.verdict for v in out[:2]] == [V.SMALLER, V.NOISE]
    assert "below the paper's gap" in out[0].number and "smallest detectable gap 0.80" in out[1].number


def test_spread_across_classes_is_the_sd_over_the_mean():
    assert V.dispersion([2.0, 2.0]) == 0
    assert V.dispersion([1.0, 3.0]) == pytest.approx(0.5)
    assert V.dispersion(np.array([1.0, 3.0]) * 7) == pytest.approx(0.5)  # scale-free


def test_counts_count_each_verdict():
    got = V.counts([V.Verdict(V.HOLDS, ""), V.Verdict(V.NOISE, ""), V.HOLDS, V.MISSING, V.TOO_FEW])
    assert got[V.HOLDS] == 2 and got[V.NOISE] == 1 and got[V.MISSING] == 1 and got[V.TOO_FEW] == 1
    assert got[V.FAILS] == got[V.SMALLER] == got[V.UNTESTABLE] == 0


def test_a_sweep_inside_the_noise_says_the_gap_its_runs_detect_at_every_point():
    pts = [(0.1, V.Verdict(V.HOLDS, "Δ = +2.0 (Welch)", 2.0, 1.0, 3.0, p=0.01, detectable=1.4)),
           (0.3, V.Verdict(V.NOISE, "Δ = +0.5 (Welch)", 0.5, -1.0, 2.0, p=0.4, detectable=2.1))]
    v = V.at_every(pts)
    assert v.verdict == V.NOISE and v.detectable == 2.1  # the larger: what the runs detect at each fraction
    assert v.number.endswith("smallest detectable gap 2.10 (at every point)")
    assert "smallest detectable" not in V.at_every([pts[0], pts[0]]).number  # decided: no power statement
