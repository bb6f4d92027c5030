"""The verdict rules on synthetic inputs whose answer is known: a clear effect holds, a flat one is inside the
noise, a reversed one does not hold."""
import numpy as np
import pytest

from ltnb import verdicts as V

SIZES = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])  # head first, as the long-tailed sets


@pytest.mark.parametrize("a, b, expected", [
    ([80.0, 80.4], [78.0, 78.2], V.HOLDS),  # +2.1 points at sigma 0.5, two seeds: 4.2 standard errors
    ([78.3, 77.9], [78.0, 78.2], V.NOISE),
    ([76.0, 76.2], [78.0, 78.2], V.FAILS),
])
def test_a_difference_of_means_is_read_against_the_pooled_noise(a, b, expected):
    v = V.difference(a, b, sigma=0.5)
    assert v.verdict == expected
    assert "σ = 0.50" in v.number and "2 seeds" in v.number


def test_a_difference_counts_its_standard_error_by_the_seeds_on_each_side():
    # +1.2 points: 2.4 s.e. with 4 seeds a side at sigma 0.5 (se 0.35), 1.7 with one seed each (se 0.71)
    assert V.difference([81.2] * 4, [80.0] * 4, 0.5).verdict == V.HOLDS
    v = V.difference([81.2], [80.0], 0.5)
    assert v.verdict == V.NOISE and v.value == pytest.approx(1.2 / (0.5 * np.sqrt(2)))
    with pytest.raises(ValueError, match="noise estimate"):
        V.difference([1.0], [2.0], float("nan"))


def test_the_critical_rank_correlation_matches_the_tables():
    # t approximation: 0.63 at n = 10 (the exact table gives 0.648), 0.197 at n = 100 (table: 0.197)
    assert V.critical_rho(10) == pytest.approx(0.632, abs=0.002)
    assert V.critical_rho(100) == pytest.approx(0.197, abs=0.002)
    with pytest.raises(ValueError, match="at least 4"):
        V.critical_rho(3)


@pytest.mark.parametrize("values, direction, expected", [
    (np.log(SIZES) + 0.01 * np.arange(10), "head", V.HOLDS),  # grows with size
    (-np.log(SIZES), "tail", V.HOLDS),                        # shrinks with size, claimed so
    (np.array([1, 3, 2, 1, 3, 2, 2, 3, 1, 2.0]), "head", V.NOISE),  # no trend
    (-np.log(SIZES), "head", V.FAILS),                        # reversed
])
def test_a_rank_trend_over_classes(values, direction, expected):
    v = V.rank_trend(values, SIZES, direction)
    assert v.verdict == expected
    assert "over 10 classes" in v.number


def test_a_trend_against_the_balanced_reference_removes_what_the_class_itself_brings():
    """A hard class that is large (Shirt on Fashion-MNIST): raw accuracy shows no trend with size, what the
    imbalance costs each class (reference minus long-tailed) does."""
    difficulty = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    difficulty[1] = -60.0  # class 1 is large and hard
    balanced = 90.0 + difficulty
    cost = np.linspace(0, 30, 10)  # the imbalance costs the tail most
    lt = balanced - cost
    assert V.rank_trend(lt, SIZES, "head").verdict == V.NOISE  # the raw curve hides it
    assert V.rank_trend(V.against_reference(lt, balanced), SIZES, "head").verdict == V.HOLDS
    norms = np.exp(np.linspace(0.3, 0, 10))
    assert np.allclose(V.against_reference(norms * 2, norms, log=True), np.log(2))  # a uniform scale is no trend
    with pytest.raises(ValueError, match="positive"):
        V.against_reference([-1.0], [1.0], log=True)


def test_spread_compares_how_flat_two_per_class_curves_are():
    rng = np.random.default_rng(1)
    steep = np.linspace(1.0, 3.0, 10)
    flat = 2.0 + 0.02 * rng.standard_normal(10)
    assert V.spread(flat, steep).verdict == V.HOLDS
    assert V.spread(steep, flat).verdict == V.FAILS
    assert V.spread(steep, steep * 1.5).verdict == V.NOISE  # the same shape at another scale: equally flat
    assert V.dispersion([2.0, 2.0]) == 0


def test_a_bootstrapped_scalar_such_as_channel_correlation():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((400, 1))
    correlated = shared + 0.3 * rng.standard_normal((400, 8))
    independent = rng.standard_normal((400, 8))

    def mean_abs_corr(x):
        c = np.corrcoef(x, rowvar=False)
        return np.abs(c[~np.eye(len(c), dtype=bool)]).mean()

    assert V.bootstrap_scalar(independent, correlated, mean_abs_corr).verdict == V.HOLDS
    assert V.bootstrap_scalar(correlated, independent, mean_abs_corr).verdict == V.FAILS
    other = rng.standard_normal((400, 8))
    assert V.bootstrap_scalar(other, independent, mean_abs_corr).verdict == V.NOISE


def test_counts_count_each_verdict():
    got = V.counts([V.Verdict(V.HOLDS, ""), V.Verdict(V.NOISE, ""), V.HOLDS, V.MISSING])
    assert got == {V.HOLDS: 2, V.FAILS: 0, V.NOISE: 1, V.UNTESTABLE: 0, V.MISSING: 1}
