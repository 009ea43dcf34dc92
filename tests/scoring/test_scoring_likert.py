"""Likert favorability and driver impact, as promised by scoring.likert."""

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import MIN_DRIVER_N, driver_impact, favorability


def test_favorability_hand_checked_example():
    # Favorable = "agree" + "strongly agree" (4-5), the usual engagement
    # survey convention. 20 answers: 2x1, 3x2, 5x3, 6x4, 4x5.
    #   favorable   = 100 * (6 + 4) / 20 = 50
    #   neutral     = 100 * 5 / 20       = 25
    #   unfavorable = 100 * (2 + 3) / 20 = 25
    #   mean = (2*1 + 3*2 + 5*3 + 6*4 + 4*5) / 20 = 67 / 20 = 3.35
    result = favorability([2, 3, 5, 6, 4])
    assert result.n == 20
    assert result.favorable == pytest.approx(50.0, abs=1e-9)
    assert result.neutral == pytest.approx(25.0, abs=1e-9)
    assert result.unfavorable == pytest.approx(25.0, abs=1e-9)
    assert result.mean == pytest.approx(3.35, abs=1e-9)


def test_favorability_thirds_are_unrounded():
    # 1 of each of 1, 3, 5: every band is exactly a third.
    result = favorability({1: 1, 3: 1, 5: 1})
    assert result.favorable == pytest.approx(100 / 3, abs=1e-12)
    assert result.mean == 3.0


def test_favorability_with_no_answers_has_no_numbers():
    result = favorability([0] * 5)
    assert result.n == 0
    assert (result.favorable, result.neutral, result.unfavorable, result.mean) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("counts", [[0] * 4, [0] * 6, {0: 1}, {6: 1}, [1, 1, 1, 1, -1], [1, 1, 1, 1, True]])
def test_favorability_rejects_invalid_histograms(counts):
    with pytest.raises(ValueError):
        favorability(counts)


@given(st.lists(st.integers(0, 1000), min_size=5, max_size=5).filter(lambda h: sum(h)))
def test_favorability_percentages_sum_to_100(hist):
    result = favorability(hist)
    assert abs(result.favorable + result.neutral + result.unfavorable - 100) < 1e-9
    assert 1 <= result.mean <= 5


KNOWN_PAIRS = {(1, 2): 3, (2, 5): 4, (3, 6): 6, (4, 8): 7, (5, 9): 3, (2, 9): 2}


def expand_pairs(paired_counts):
    pairs = [pair for pair, count in paired_counts.items() for _ in range(count)]
    return [x for x, _ in pairs], [y for _, y in pairs]


def test_driver_impact_equals_pearson_r_on_the_expanded_pairs():
    xs, ys = expand_pairs(KNOWN_PAIRS)
    result = driver_impact(KNOWN_PAIRS)
    assert result.n == 25
    assert result.status == "ok"
    assert result.r == pytest.approx(statistics.correlation(xs, ys), abs=1e-12)


def test_driver_impact_of_a_perfect_line_is_exactly_one():
    pairs = {(x, 2 * x): 5 for x in range(1, 6)}
    assert driver_impact(pairs).r == 1.0


def test_driver_impact_below_25_pairs_is_not_enough_data():
    pairs = dict(KNOWN_PAIRS)
    pairs[(1, 2)] -= 1
    result = driver_impact(pairs)
    assert MIN_DRIVER_N == 25
    assert result.n == 24
    assert result.status == "not_enough_data"
    assert result.r is None


def test_driver_impact_without_variance_has_no_r():
    result = driver_impact({(4, 3): 20, (4, 9): 10})
    assert result.status == "no_variance"
    assert result.r is None


@pytest.mark.parametrize("pairs", [{(0, 5): 30}, {(6, 5): 30}, {(3, 11): 30}, {(3,): 30}, {(3, 5): -1}])
def test_driver_impact_rejects_invalid_pairs(pairs):
    with pytest.raises(ValueError):
        driver_impact(pairs)


def test_driver_impact_needs_a_mapping():
    with pytest.raises(TypeError):
        driver_impact([((3, 5), 30)])


@given(st.dictionaries(st.tuples(st.integers(1, 5), st.integers(0, 10)), st.integers(0, 8), min_size=2))
def test_driver_impact_agrees_with_statistics_correlation(pairs):
    result = driver_impact(pairs, min_n=2)
    xs, ys = expand_pairs(pairs)
    if result.status == "ok":
        assert result.r == pytest.approx(statistics.correlation(xs, ys), abs=1e-9)
        assert -1 <= result.r <= 1
    elif result.status == "no_variance":
        assert len(set(xs)) == 1 or len(set(ys)) == 1
    else:
        assert len(xs) < 2
