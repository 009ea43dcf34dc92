"""The disclosure guard, checked by brute force over random organisations."""

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.disclosure import Cell, Verdict, disclose

K = 5


def atoms(cells, groups, shown, value):
    """Sums of ``value`` over each atom of the shown groups (people in no shown group are in no result)."""
    totals = {}
    for index, cell in enumerate(cells):
        signature = frozenset(g for g in shown if index in groups[g])
        if signature:
            totals[signature] = totals.get(signature, 0) + value(cell)
    return totals


def invariant_holds(cells, groups, verdicts, k=K) -> bool:
    shown = {g for g, v in verdicts.items() if v.shown}
    measures = [lambda c: c.invited, lambda c: c.respondents]
    if not all(n == 0 or n >= k for m in measures for n in atoms(cells, groups, shown, m).values()):
        return False
    for q in range(len(cells[0].answers) if cells else 0):
        with_q = {g for g in shown if q not in verdicts[g].hidden_questions}
        if not all(n == 0 or n >= k for n in atoms(cells, groups, with_q, lambda c, q=q: c.answers[q]).values()):
            return False
    return True


@st.composite
def organisations(draw):
    """Cells of a random organisation: a department tree, a manager tree that straddles it, tenure bands."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    departments = rng.randint(1, 7)
    dept_parent = {d: (rng.randrange(d) if d else None) for d in range(departments)}
    managers = rng.randint(1, 6)
    boss = {m: (rng.randrange(m) if m else None) for m in range(managers)}
    questions = rng.randint(1, 3)
    cells, raw = [], []
    for _ in range(rng.randint(1, 14)):
        invited = rng.choice([1, 2, 3, 4, 5, 6, 8, 12])
        respondents = rng.randint(0, invited)
        answers = tuple(rng.randint(0, respondents) if rng.random() < 0.6 else respondents for _ in range(questions))
        cells.append(Cell(invited, respondents, answers))
        raw.append((rng.randrange(departments), rng.randrange(managers), rng.choice([None, 1, 2])))
    groups = {("company", 0): set(range(len(cells)))}

    def line(parent, node):
        while node is not None:
            yield node
            node = parent[node]

    for index, (d, m, band) in enumerate(raw):
        for node in line(dept_parent, d):
            groups.setdefault(("department", node), set()).add(index)
        for node in line(boss, m):
            groups.setdefault(("manager", node), set()).add(index)
        if band:
            groups.setdefault(("tenure", band), set()).add(index)
    return cells, groups


@settings(max_examples=300, deadline=None)
@given(organisations())
def test_every_atom_holds_zero_or_at_least_k_of_everything(org):
    cells, groups = org
    assert invariant_holds(cells, groups, disclose(cells, groups, K))


@settings(max_examples=300, deadline=None)
@given(organisations())
def test_no_hidden_group_could_be_shown_on_top_of_the_others(org):
    cells, groups = org
    verdicts = disclose(cells, groups, K)
    for group, verdict in verdicts.items():
        if verdict.shown:
            continue
        with_it = {**verdicts, group: Verdict(True, None)}
        assert not invariant_holds(cells, groups, with_it) or verdict.reason in ("too_few_invited", "below_k"), group


@settings(max_examples=300, deadline=None)
@given(organisations(), st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_of_the_input(org, rng):
    cells, groups = org
    expected = disclose(cells, groups, K)
    order = list(range(len(cells)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    shuffled_cells = [cells[i] for i in order]
    keys = list(groups)
    rng.shuffle(keys)
    shuffled_groups = {g: {where[i] for i in groups[g]} for g in keys}
    assert disclose(shuffled_cells, shuffled_groups, K) == expected


@settings(max_examples=200, deadline=None)
@given(organisations(), st.data())
def test_a_person_in_a_cell_of_fewer_than_k_invited_never_flips_a_verdict_alone(org, data):
    """Structure first: a group whose own invited count is under k is hidden whatever anyone answered."""
    cells, groups = org
    verdicts = disclose(cells, groups, K)
    for group, verdict in verdicts.items():
        invited = sum(cells[i].invited for i in groups[group])
        if invited < K:
            assert verdict == Verdict(False, "too_few_invited")


def test_lone_answer_to_an_optional_question_is_hidden_in_one_of_two_nested_groups():
    # a department of 10 = its child of 5 + 5 direct members, one of whom answered the optional question
    cells = [Cell(5, 5, (5, 1)), Cell(5, 5, (5, 5))]
    groups = {("company", 0): {0, 1}, ("department", 1): {0, 1}, ("department", 2): {1}}
    verdicts = disclose(cells, groups, K)
    assert all(v.shown for v in verdicts.values())
    # the eNPS (question 0) is shown everywhere; the optional question in at most one of the two
    assert all(0 not in v.hidden_questions for v in verdicts.values())
    assert sum(1 not in verdicts[g].hidden_questions for g in (("department", 1), ("department", 2))) == 1
    assert invariant_holds(cells, groups, verdicts)


def test_a_team_that_straddles_two_departments_is_hidden_when_it_would_single_out_two():
    # Sales = 10 of Mia's + 2 of Max's; Ops = 10 of Max's; Max's team = 12
    cells = [Cell(10, 10, ()), Cell(2, 2, ()), Cell(10, 10, ())]
    groups = {("company", 0): {0, 1, 2}, ("department", "ops"): {2}, ("department", "sales"): {0, 1},
              ("manager", "max"): {1, 2}, ("manager", "mia"): {0}}
    verdicts = disclose(cells, groups, K, priority=lambda g: {"company": 0, "manager": 1, "department": 2}[g[0]])
    assert verdicts[("manager", "max")].shown and verdicts[("manager", "mia")].shown
    assert not verdicts[("department", "ops")].shown and verdicts[("department", "ops")].reason == "overlap"
    assert invariant_holds(cells, groups, verdicts)


@pytest.mark.parametrize("bad", [0, -1])
def test_k_must_be_positive(bad):
    with pytest.raises(ValueError):
        disclose([], {}, bad)


def test_brute_force_agrees_on_every_small_case():
    """Every subset of three groups over two cells: the guard's answer is one of the maximal safe sets."""
    for sizes in itertools.product([1, 4, 5, 7], repeat=2):
        cells = [Cell(n, n, ()) for n in sizes]
        groups = {("company", 0): {0, 1}, ("department", 1): {0}, ("department", 2): {1}}
        verdicts = disclose(cells, groups, K)
        assert invariant_holds(cells, groups, verdicts)
