"""Anonymity thresholds: k, the comment threshold, and the lone-group rule.

Which groups of a round may be shown is scoring.disclosure's job; its tests
are in test_scoring_disclosure.py.
"""

import pytest

from scoring import COMMENT_THRESHOLD, DEFAULT_MIN_GROUP_SIZE, check_min_group_size, comments_shown, is_shown


def test_defaults_match_the_design():
    assert DEFAULT_MIN_GROUP_SIZE == 5
    assert COMMENT_THRESHOLD == 10


@pytest.mark.parametrize(("respondents", "expected"), [(9, False), (10, True), (40, True), (0, False)])
def test_comments_need_ten_responses(respondents, expected):
    assert comments_shown(respondents, 5) is expected


def test_comments_need_k_responses_too_when_the_threshold_is_lower():
    assert comments_shown(4, 5, threshold=3) is False
    assert comments_shown(5, 5, threshold=3) is True


@pytest.mark.parametrize("k", [2, 11, 0, -5, True, 5.0, "5", None])
def test_k_outside_3_to_10_is_rejected(k):
    with pytest.raises(ValueError, match="k must be an integer from 3 to 10"):
        check_min_group_size(k)


@pytest.mark.parametrize(("n", "k", "expected"), [(4, 5, False), (5, 5, True), (3, 3, True)])
def test_is_shown_applies_the_threshold(n, k, expected):
    assert is_shown(n, k) is expected


@pytest.mark.parametrize(("n", "k"), [(-1, 5), (5, 2), (True, 5), (5, 11)])
def test_is_shown_rejects_bad_input(n, k):
    with pytest.raises(ValueError):
        is_shown(n, k)
