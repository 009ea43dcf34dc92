"""Participation rates and eNPS trends, as promised by scoring.participation."""

import pytest

from scoring import enps, participation, trend


def test_participation_rate_is_a_percentage_of_invited():
    result = participation(45, 60)
    assert result.rate == pytest.approx(75.0)


def test_participation_with_nobody_invited_has_no_rate():
    assert participation(0, 0).rate is None


@pytest.mark.parametrize(("responses", "invited"), [(11, 10), (-1, 10), (1, -1), (True, 10), (1.0, 2)])
def test_participation_rejects_impossible_counts(responses, invited):
    with pytest.raises(ValueError):
        participation(responses, invited)


def _week(promoters, detractors):
    return enps({10: promoters, 8: 10, 2: detractors})


def test_first_trend_point_has_no_change():
    points = trend([("W1", _week(10, 10))])
    assert points[0].change is None
    assert points[0].significant_change is False


def test_trend_point_compares_with_the_previous_point():
    first, second = trend([("W1", _week(5, 30)), ("W2", _week(30, 5))])
    assert second.change.delta == pytest.approx(second.score - first.score)
    assert second.significant_change is True


def test_a_small_move_is_reported_as_within_noise():
    _, second = trend([("W1", _week(10, 10)), ("W2", _week(11, 10))])
    assert second.change is not None
    assert second.significant_change is False


def test_suppressed_point_has_no_numbers_and_is_skipped_for_comparison():
    first, hidden, third = trend([("W1", _week(5, 30)), ("W2", None), ("W3", _week(30, 5))])
    assert hidden.suppressed is True
    assert (hidden.n, hidden.score, hidden.ci_low, hidden.ci_high, hidden.change) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert third.change.delta == pytest.approx(third.score - first.score)


def test_point_without_answers_is_not_a_comparison_baseline():
    first, empty, third = trend([("W1", _week(5, 5)), ("W2", enps([0] * 11)), ("W3", _week(6, 5))])
    assert empty.suppressed is False
    assert empty.score is None
    assert empty.change is None
    assert third.change.delta == pytest.approx(third.score - first.score)


def test_trend_refuses_things_that_are_not_results():
    with pytest.raises(TypeError):
        trend([("W1", 42)])
