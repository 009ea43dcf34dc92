"""Favorability changes beyond noise, and the corrections for many comparisons (scoring.significance)."""

from __future__ import annotations

import math

import pytest

from scoring.significance import benjamini_hochberg, compare_favorability, compare_proportions, holm


def _false_alarm_rate(n: int, p: float) -> float:
    """The exact chance that two groups of n drawn from the same favorable share p test "significant"."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    return sum(pmf[a] * pmf[b] for a in range(n + 1) for b in range(n + 1)
               if compare_proportions(a, n, b, n).significant)


@pytest.mark.parametrize("n", [5, 10, 15, 20, 30, 40])
@pytest.mark.parametrize("share", [0.3, 0.5, 0.6, 0.7, 0.8])
def test_the_false_alarm_rate_stays_near_five_percent_for_small_groups(n, share):
    assert _false_alarm_rate(n, share) <= 0.06


def test_a_real_change_is_found_and_a_small_one_is_noise():
    assert compare_proportions(4, 20, 16, 20).significant  # 20 % → 80 % favorable
    assert not compare_proportions(10, 20, 12, 20).significant  # 50 % → 60 %


def test_the_delta_is_the_raw_change_in_points_and_swapping_flips_its_sign():
    ab, ba = compare_proportions(3, 10, 8, 10), compare_proportions(8, 10, 3, 10)
    assert ab.delta == pytest.approx(50.0) and ba.delta == pytest.approx(-50.0)
    assert ab.z == pytest.approx(-ba.z) and ab.p_value == pytest.approx(ba.p_value)


def test_the_z_is_the_agresti_caffo_one():
    # x = 2 of 10 and 7 of 10: p~ = 3/12 and 8/12.
    pa, pb = 3 / 12, 8 / 12
    expected = (pb - pa) / math.sqrt(pa * (1 - pa) / 12 + pb * (1 - pb) / 12)
    assert compare_proportions(2, 10, 7, 10).z == pytest.approx(expected)


def test_favorability_counts_answers_four_and_five():
    by_list = compare_favorability([5, 5, 0, 0, 0], [0, 0, 0, 5, 5])
    by_map = compare_favorability({1: 5, 2: 5}, {4: 5, 5: 5})
    assert by_list == by_map and by_list.delta == pytest.approx(100.0) and by_list.significant


def test_a_side_without_answers_is_no_comparison():
    result = compare_favorability([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])
    assert (result.delta, result.z, result.p_value, result.significant) == (None, None, None, False)


@pytest.mark.parametrize("bad", [(-1, 5), (6, 5), (True, 5), (1.5, 5), (1, "5")])
def test_impossible_counts_are_refused(bad):
    with pytest.raises(ValueError):
        compare_proportions(*bad, 3, 5)


def test_holm_and_benjamini_hochberg_on_a_known_example():
    # Sorted: 0.005, 0.01, 0.03, 0.04 with m = 4.
    # Holm: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 stops: two significant.
    # BH: 0.04 <= 4 * 0.05 / 4, so all four are.
    p_values = [0.01, 0.04, 0.03, 0.005]
    assert holm(p_values) == [True, False, False, True]
    assert benjamini_hochberg(p_values) == [True, True, True, True]


def test_benjamini_hochberg_steps_up_past_a_larger_p_value():
    # Sorted: 0.001, 0.02, 0.025, 0.2 (m = 4): thresholds 0.0125, 0.025, 0.0375, 0.05.
    # Rank 2 (0.02 <= 0.025) and rank 3 (0.025 <= 0.0375) pass, rank 4 fails: three significant.
    assert benjamini_hochberg([0.2, 0.025, 0.001, 0.02]) == [False, True, True, True]
    assert holm([0.2, 0.025, 0.001, 0.02]) == [False, False, True, False]


def test_a_comparison_not_made_is_not_significant_and_not_counted():
    # m is 2, not 3: 0.02 <= 0.05 / 2 under Holm.
    assert holm([0.02, None, 0.01]) == [True, False, True]
    assert benjamini_hochberg([None, None]) == [False, False]


@pytest.mark.parametrize("bad", [[1.5], [-0.1], ["0.01"], [True]])
def test_a_value_that_is_not_a_p_value_is_refused(bad):
    with pytest.raises(ValueError):
        holm(bad)
    with pytest.raises(ValueError):
        benjamini_hochberg(bad)
