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
    guard_overlaps,
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


# --- Cuts that are not nested: departments, managers' teams and tenure bands together ---------

CUT_ORDER = {"tenure": 0, "manager": 1, "department": 2, "company": 3}


def hide_first(key):
    return CUT_ORDER[key[0]], key


def people_cells(people, trees):
    """people: list of (department, manager, band); trees: cut -> {key: parent}. Returns cells and group sizes."""
    cells: dict[frozenset, int] = {}
    for department, manager, band in people:
        groups = {("company", 0), ("tenure", band)}
        for cut, node in (("department", department), ("manager", manager)):
            while node is not None:
                groups.add((cut, node))
                node = trees[cut][node]
        cells[frozenset(groups)] = cells.get(frozenset(groups), 0) + 1
    return list(cells.items())


def per_cut_shown(cells, trees, k):
    """What the per-cut guard shows: each cut as a forest under the company."""
    size: dict = {}
    for groups, n in cells:
        for key in groups:
            size[key] = size.get(key, 0) + n
    root = ("company", 0)
    shown = {root} if size[root] >= k else set()
    for cut in ("department", "manager", "tenure"):
        parents = trees.get(cut, {})
        keys = [key for key in size if key[0] == cut]
        verdict = guard([GroupCount(root, None, size[root])]
                        + [GroupCount(key, (cut, parents[key[1]]) if parents.get(key[1]) is not None else root,
                                      size[key]) for key in keys], k)
        shown |= {key for key in keys if verdict[key].shown}
    return shown, size


def test_teams_that_straddle_departments_by_two_people_are_hidden():
    # Sales has 12 people: 10 report to manager 1 and 2 to manager 2, who also leads Ops (10).
    # Every group passes its own cut's guard, but Sales minus team 1 is those 2 people.
    trees = {"department": {"sales": None, "ops": None}, "manager": {1: None, 2: None}}
    people = [("sales", 1, "a")] * 10 + [("sales", 2, "a")] * 2 + [("ops", 2, "a")] * 10
    cells = people_cells(people, trees)
    shown, _ = per_cut_shown(cells, trees, 5)
    assert {("department", "sales"), ("department", "ops"), ("manager", 1), ("manager", 2)} <= shown

    hidden = guard_overlaps(cells, shown, 5, hide_first=hide_first)

    # teams go before departments; the tenure band holds everyone, so hiding it would not help
    assert hidden == {("manager", 1), ("manager", 2)}


def test_tenure_bands_that_cut_a_department_by_two_are_hidden():
    # Sales is 8 newcomers; Ops is 2 newcomers and 10 old hands. "New" minus Sales and Ops minus
    # "old" are both the same 2 people, so both bands go (bands before departments).
    trees = {"department": {"sales": None, "ops": None}, "manager": {1: None}}
    people = [("sales", 1, "new")] * 8 + [("ops", 1, "new")] * 2 + [("ops", 1, "old")] * 10
    cells = people_cells(people, trees)
    shown, _ = per_cut_shown(cells, trees, 5)
    assert {("department", "sales"), ("tenure", "new")} <= shown

    assert guard_overlaps(cells, shown, 5, hide_first=hide_first) == {("tenure", "new"), ("tenure", "old")}


def test_groups_that_overlap_by_at_least_k_stay_shown():
    trees = {"department": {"sales": None, "ops": None}, "manager": {1: None, 2: None}}
    people = [("sales", 1, "a")] * 10 + [("ops", 2, "a")] * 10 + [("sales", 2, "b")] * 5 + [("ops", 1, "b")] * 5
    cells = people_cells(people, trees)
    shown, _ = per_cut_shown(cells, trees, 5)
    assert guard_overlaps(cells, shown, 5, hide_first=hide_first) == set()


def test_the_company_is_never_hidden_to_settle_an_overlap():
    # One person is in department 20, team 1 and the newest band at once: the band, team 1 and
    # department 20 can be combined to single them out. Hiding groups that separate people settles
    # it; hiding the company, which everyone is in, would separate no one.
    trees = {"department": {10: None, 20: None}, "manager": {1: None}}
    people = ([(None, 1, "1-2y")] * 5 + [(10, None, "<1y")] * 4 + [(20, None, "1-2y")] * 6
              + [(20, 1, "<1y")])
    cells = [(frozenset(g for g in groups if None not in g), n) for groups, n in people_cells(people, trees)]
    shown, _ = per_cut_shown(cells, trees, 5)
    assert {("company", 0), ("department", 20), ("manager", 1), ("tenure", "<1y")} <= shown

    hidden = guard_overlaps(cells, shown, 5, hide_first=hide_first)

    assert ("company", 0) not in hidden
    assert hidden == {("manager", 1), ("department", 20)}


def test_guard_overlaps_rejects_bad_input():
    with pytest.raises(ValueError, match="from 3 to 10"):
        guard_overlaps([], set(), 2)
    with pytest.raises(ValueError, match="non-negative integer"):
        guard_overlaps([({"a"}, -1)], {"a"}, 5)


def random_population(rng):
    def random_tree(prefix, size):
        parents = {}
        for i in range(size):
            parents[f"{prefix}{i}"] = None if i == 0 or rng.random() < 0.2 else f"{prefix}{rng.randrange(i)}"
        return parents

    trees = {"department": random_tree("d", rng.randint(1, 8)), "manager": random_tree("m", rng.randint(1, 10))}
    departments, managers = list(trees["department"]), list(trees["manager"])
    people = []
    for _ in range(rng.randint(0, 90)):
        department = rng.choice(departments)
        # teams mostly sit inside one department, as in real organisations, with strays
        manager = managers[departments.index(department) % len(managers)] if rng.random() < 0.8 \
            else rng.choice(managers)
        people.append((department, manager, rng.choice("abc")))
    return people, trees


def test_no_mix_of_shown_groups_singles_out_fewer_than_k_people_on_random_organisations():
    rng = random.Random(20261127)
    hid_something = 0
    for _ in range(400):
        people, trees = random_population(rng)
        k = rng.randint(3, 10)
        cells = people_cells(people, trees)
        if not cells:
            continue
        shown, _ = per_cut_shown(cells, trees, k)
        hidden = guard_overlaps(cells, shown, k, hide_first=hide_first)
        assert hidden <= shown
        assert ("company", 0) not in hidden  # it holds everyone, so hiding it never helps
        hid_something += bool(hidden)
        visible = shown - hidden
        # every atom of the visible groups is empty or has at least k people ...
        atoms: dict[frozenset, int] = {}
        for groups, n in cells:
            atom = frozenset(groups) & visible
            atoms[atom] = atoms.get(atom, 0) + n
        assert all(n >= k for atom, n in atoms.items() if atom)
        # ... so any two visible groups differ, either way round, by 0 or at least k people
        members = {key: {i for i, (groups, _) in enumerate(cells) if key in groups} for key in visible}
        for a in visible:
            for b in visible:
                only_a = sum(cells[i][1] for i in members[a] - members[b])
                assert only_a == 0 or only_a >= k, (a, b, only_a, k)
        # and the outcome does not depend on the order of the cells
        assert guard_overlaps(list(reversed(cells)), shown, k, hide_first=hide_first) == hidden
    assert hid_something > 20  # the random organisations do exercise the overlap rule
