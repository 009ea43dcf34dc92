"""The anonymity guard, as promised by scoring.anonymity.

The brute-force test at the end checks the guarantee on random trees: for
every shown group P, (a) P.n >= k; (b) every shown group inside P differs
from P by 0 or >= k; (c) P minus its nearest shown subgroups leaves 0 or
>= k.
"""

import random

import pytest

from scoring import (
    COMMENT_THRESHOLD,
    DEFAULT_MIN_GROUP_SIZE,
    GroupCount,
    guard,
    is_shown,
)


def tree(*rows):
    return [GroupCount(key, parent, n) for key, parent, n in rows]


def shown_keys(visibility):
    return {key for key, v in visibility.items() if v.shown}


def test_defaults_match_the_design():
    assert DEFAULT_MIN_GROUP_SIZE == 5
    assert COMMENT_THRESHOLD == 10


def test_department_of_three_people_is_hidden():
    result = guard(tree(("co", None, 40), ("small", "co", 3), ("big", "co", 30)), k=5)
    assert result["small"].shown is False
    assert result["small"].reason == "below_k"
    assert result["small"].comments_shown is False


def test_child_differing_from_its_parent_by_two_is_hidden():
    # The parent has 2 direct members: showing both would reveal them.
    result = guard(tree(("co", None, 30), ("sales", "co", 28)), k=5)
    assert result["co"].shown is True
    assert result["sales"].shown is False
    assert result["sales"].reason == "parent_difference"


def test_next_smallest_sibling_is_hidden_when_the_hidden_total_is_under_k():
    # 'tiny' (3) is hidden; 40 - 20 - 17 = 3 would expose it, so 'mid' (17)
    # goes too and the hidden total becomes 20.
    result = guard(
        tree(("co", None, 40), ("tiny", "co", 3), ("mid", "co", 17), ("big", "co", 20)),
        k=5,
    )
    assert shown_keys(result) == {"co", "big"}
    assert result["mid"].reason == "complementary"


def test_hidden_total_of_zero_needs_no_more_hiding():
    result = guard(tree(("co", None, 30), ("a", "co", 10), ("b", "co", 20)), k=5)
    assert shown_keys(result) == {"co", "a", "b"}


def test_hidden_total_of_at_least_k_needs_no_more_hiding():
    result = guard(tree(("co", None, 30), ("a", "co", 5), ("b", "co", 20)), k=5)
    assert shown_keys(result) == {"co", "a", "b"}


def test_ties_are_broken_by_key():
    result = guard(tree(("co", None, 23), ("b", "co", 10), ("a", "co", 10)), k=5)
    assert shown_keys(result) == {"co", "b"}


def test_subgroup_of_a_hidden_group_can_still_be_shown_when_safe():
    # co has 2 direct members. 'eng' (18) is hidden (differs by 2); its
    # teams then face co directly: hiding one team leaves 11 hidden.
    result = guard(
        tree(("co", None, 20), ("eng", "co", 18), ("t1", "eng", 9), ("t2", "eng", 9)),
        k=5,
    )
    assert shown_keys(result) == {"co", "t2"}


def test_hidden_root_hides_everything_below_it():
    result = guard(tree(("co", None, 4), ("a", "co", 4)), k=5)
    assert shown_keys(result) == set()
    assert {v.reason for v in result.values()} == {"below_k"}


def test_k_is_taken_from_the_survey():
    rows = tree(("co", None, 40), ("a", "co", 8), ("b", "co", 32))
    assert shown_keys(guard(rows, k=5)) == {"co", "a", "b"}
    assert shown_keys(guard(rows, k=10)) == {"co"}


def test_comments_need_ten_responses():
    assert guard(tree(("co", None, 9)), k=5)["co"].comments_shown is False
    assert guard(tree(("co", None, 10)), k=5)["co"].comments_shown is True


def test_comments_are_never_broken_down_below_the_root():
    result = guard(tree(("co", None, 60), ("a", "co", 30), ("b", "co", 30)), k=5)
    assert result["co"].comments_shown is True
    assert result["a"].shown is True
    assert result["a"].comments_shown is False


def test_comments_never_show_for_a_hidden_group():
    result = guard(tree(("co", None, 12)), k=5, comment_threshold=3)
    assert result["co"].comments_shown is True
    assert guard(tree(("co", None, 4)), k=5, comment_threshold=3)["co"].comments_shown is False


@pytest.mark.parametrize("k", [2, 11, 0, -5, True, 5.0, "5", None])
def test_k_outside_3_to_10_is_rejected(k):
    with pytest.raises(ValueError, match="k must be an integer from 3 to 10"):
        guard(tree(("co", None, 10)), k=k)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a", "ghost", 5)], "unknown parent"),
        ([("a", None, 10), ("b", "c", 5), ("c", "b", 5)], "cycle"),
        ([("a", "a", 5)], "cycle"),
        ([("a", None, 10), ("b", "a", 6), ("c", "a", 5)], "add up to 11"),
        ([("a", None, -1)], "non-negative"),
        ([("a", None, 2.5)], "non-negative"),
        ([("a", None, True)], "non-negative"),
        ([("a", None, 5), ("a", None, 6)], "duplicate"),
        ([(None, None, 5)], "cannot be None"),
        ([("a", None, 5), (1, None, 6)], "orderable"),
    ],
)
def test_invalid_trees_are_rejected(rows, message):
    with pytest.raises(ValueError, match=message):
        guard(tree(*rows), k=5)


def test_items_that_are_not_group_counts_are_rejected():
    with pytest.raises(TypeError):
        guard([("co", None, 10)], k=5)


@pytest.mark.parametrize(("n", "k", "expected"), [(4, 5, False), (5, 5, True), (3, 3, True)])
def test_is_shown_applies_the_threshold(n, k, expected):
    assert is_shown(n, k) is expected


@pytest.mark.parametrize(("n", "k"), [(-1, 5), (5, 2), (True, 5), (5, 11)])
def test_is_shown_rejects_bad_input(n, k):
    with pytest.raises(ValueError):
        is_shown(n, k)


def random_forest(rng):
    """Return GroupCounts of a random forest: depth <= 4, direct sizes 0..40."""
    direct, parent_of = {}, {}

    def grow(parent, depth):
        key = len(direct)
        parent_of[key] = parent
        # Small direct memberships are the ones that trigger no-subtraction.
        direct[key] = rng.randint(0, 4) if rng.random() < 0.6 else rng.randint(0, 40)
        if depth < 4:
            for _ in range(rng.choice((0, 1, 2, 2, 3))):
                grow(key, depth + 1)

    for _ in range(rng.randint(1, 2)):
        grow(None, 0)
    totals = dict(direct)
    for key in sorted(direct, reverse=True):  # children have larger keys
        if parent_of[key] is not None:
            totals[parent_of[key]] += totals[key]
    return [GroupCount(key, parent_of[key], totals[key]) for key in direct]


def assert_guarantee(groups, result, k):
    n = {g.key: g.n for g in groups}
    children = {g.key: [] for g in groups}
    for g in groups:
        if g.parent is not None:
            children[g.parent].append(g.key)
    shown = {key for key, v in result.items() if v.shown}

    for p in shown:
        assert n[p] >= k, f"(a) {p} shown with n={n[p]}"
        stack = list(children[p])
        while stack:
            d = stack.pop()
            if d in shown:
                diff = n[p] - n[d]
                assert diff == 0 or diff >= k, f"(b) {p} - {d} = {diff}"
            stack.extend(children[d])
        stack, nearest = list(children[p]), []
        while stack:
            d = stack.pop()
            if d in shown:
                nearest.append(d)
            else:
                stack.extend(children[d])
        remainder = n[p] - sum(n[d] for d in nearest)
        assert remainder == 0 or remainder >= k, f"(c) {p} - {nearest} = {remainder}"

    for g in groups:
        v = result[g.key]
        assert (v.reason is None) == v.shown, f"{g.key}: hidden needs a reason"
        if g.n < k:
            assert v.reason == "below_k"
        assert v.comments_shown == (v.shown and g.parent is None and g.n >= 10)


def test_guarantee_holds_on_random_trees_and_is_deterministic():
    rng = random.Random(20240601)
    hidden_by_no_subtraction = 0
    for _ in range(400):
        groups = random_forest(rng)
        for k in range(3, 11):
            result = guard(groups, k)
            assert set(result) == {g.key for g in groups}
            assert_guarantee(groups, result, k)
            shuffled = list(groups)
            rng.shuffle(shuffled)
            assert guard(shuffled, k) == result
            hidden_by_no_subtraction += sum(v.reason in ("parent_difference", "complementary") for v in result.values())
    # The trees must exercise the subtraction rules, not only below_k.
    assert hidden_by_no_subtraction > 500


def test_guard_handles_two_hundred_departments_quickly():
    rows = [GroupCount("co", None, 0)]
    total = 0
    for d in range(200):
        rows.append(GroupCount(f"d{d:03}", "co", 7 + d % 9))
        total += 7 + d % 9
    rows[0] = GroupCount("co", None, total + 3)
    result = guard(rows, k=5)
    assert result["co"].shown is True
    assert_guarantee(rows, result, 5)
