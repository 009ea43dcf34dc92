"""The disclosure guard: which groups' results of one round may be shown, to anyone.

Input: the round's *cells*, the smallest sets of people the stored answers
can tell apart (people sharing a generalised department, team and tenure
band), each with its number of invited people, of respondents and of
answers to each question; and the candidate *groups* (the company, every
department subtree, every manager's organisation, every tenure band), each
a set of cells. Output: for every group, shown or hidden, and why.

The invariant (docs/anonymity.md): let S be the shown groups. An *atom* is
a set of cells that belong to exactly the same groups of S. Every atom
holds 0 or at least ``k`` invited people, 0 or at least ``k`` respondents,
and for each question 0 or at least ``k`` answers. Every result anyone can
see is a sum of atoms, so no sum or difference of shown results, whoever
combines them, isolates fewer than ``k`` people, respondents or answers:
not an answer, and not whether a known person answered.

Because the invited counts come from the organisation alone, a group is
never shown or hidden because one person answered or skipped when that
person's atom is smaller than ``k`` invited people: such an atom fails on
its invited count first, whatever anyone answered. A verdict can depend on
respondent counts only of atoms of ``k`` or more invited people, which is
what a participation figure over ``k`` people says anyway.

What it optimises, and why it stops: groups are taken one at a time in a
fixed order (``priority``, then the key) and each is added to S if S with
it still meets the invariant; otherwise it stays hidden. Adding a group
only ever splits atoms, and a part of an atom that is too small stays too
small after further splits, so a group refused once could never be added
later: the final S is *maximal*, no hidden group can be shown on top of it
without breaking the invariant ("hide as little as possible"). Which
maximal S is found depends only on the order, so the verdict is
deterministic and independent of the order of the input. Each group is
looked at once: the work is the sum of the groups' sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Reason = Literal["too_few_invited", "below_k", "overlap"]


@dataclass(frozen=True, slots=True)
class Cell:
    """People who share one stored segment: how many were invited, answered, and answered each question."""

    invited: int
    respondents: int
    answers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Shown, or hidden with a reason: ``too_few_invited`` (fewer than k people in the group),
    ``below_k`` (fewer than k responses) or ``overlap`` (it could be combined with shown results
    to single out fewer than k). A shown group may still hide some questions' answers
    (``hidden_questions``, indices into the cells' ``answers``), for the same reasons."""

    shown: bool
    reason: Reason | None
    hidden_questions: frozenset[int] = frozenset()


def _ok(value: int, k: int) -> bool:
    return value == 0 or value >= k


def _greedy(vectors: list[list[int]], order: list[Hashable], groups: Mapping[Hashable, Iterable[int]],
            k: int) -> dict[Hashable, Reason | None]:
    """Add groups in ``order`` while every atom's every count stays 0 or at least k; a reason for the rest.

    Each atom keeps its members and its totals, so adding a group costs the size of the group, not
    of the organisation: an atom split in two needs only the totals of the part inside the group.
    """
    width = len(vectors[0]) if vectors else 0
    atom_of = [0] * len(vectors)  # every cell starts in one atom: nothing is shown yet
    members_of: dict[int, set[int]] = {0: set(range(len(vectors)))}
    totals_of: dict[int, list[int]] = {0: [sum(v[i] for v in vectors) for i in range(width)]}
    next_atom = 1
    out: dict[Hashable, Reason | None] = {}
    for key in order:
        members = [c for c in groups[key] if any(vectors[c])]
        own = [sum(vectors[c][i] for c in members) for i in range(width)]
        if own and own[0] < k:
            out[key] = "too_few_invited" if width > 1 else "below_k"
            continue
        if width > 1 and own[1] < k:
            out[key] = "below_k"
            continue
        touched: dict[int, list[int]] = {}
        for c in members:
            touched.setdefault(atom_of[c], []).append(c)
        splits = []
        for atom, inside in touched.items():
            if len(inside) == len(members_of[atom]):
                continue  # the whole atom is in the group: nothing new is told apart
            inner = [sum(vectors[c][i] for c in inside) for i in range(width)]
            outer = [total - part for total, part in zip(totals_of[atom], inner, strict=True)]
            if not all(_ok(v, k) for v in (*inner, *outer)):
                out[key] = "overlap"
                break
            splits.append((atom, inside, inner, outer))
        else:
            for atom, inside, inner, outer in splits:
                members_of[atom].difference_update(inside)
                totals_of[atom] = outer
                members_of[next_atom], totals_of[next_atom] = set(inside), inner
                for c in inside:
                    atom_of[c] = next_atom
                next_atom += 1
            out[key] = None
    return out


def disclose(cells: Sequence[Cell], groups: Mapping[Hashable, Iterable[int]], k: int,
             priority: Callable[[Any], Any] = lambda key: 0,
             allowed: Iterable[Hashable] | None = None) -> dict[Hashable, Verdict]:
    """The verdict for every group; see the module's promise.

    Groups are settled on invited people and respondents first; then, among
    the shown groups, each question's answers are settled the same way on
    their own, so an optional question few answered hides that question's
    result in a group, not the whole group.

    ``groups`` maps a key to the indices of its cells in ``cells``; keys must
    be mutually orderable (ties in ``priority`` are broken by key). Every
    cell's ``answers`` must have the same length. With ``allowed``, only those
    groups may be shown (a recount of a round whose results were published:
    showing a group hidden then could be combined with what was seen then).
    :raise ValueError: for k < 1, negative counts, or cells of different lengths.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    width = len(cells[0].answers) if cells else 0
    for cell in cells:
        if len(cell.answers) != width:
            raise ValueError("every cell needs the same number of answer counts")
        if cell.invited < 0 or cell.respondents < 0 or any(a < 0 for a in cell.answers):
            raise ValueError("counts must not be negative")
    order = sorted(groups, key=lambda g: (priority(g), g))
    if allowed is not None:
        allowed = set(allowed)
        order = [g for g in order if g in allowed]
    people = dict.fromkeys(groups, "overlap")
    people.update(_greedy([[c.invited, c.respondents] for c in cells], order, groups, k))
    shown = [g for g in order if people[g] is None]
    hidden: dict[Hashable, set[int]] = {g: set() for g in shown}
    for q in range(width):
        for g, reason in _greedy([[c.answers[q]] for c in cells], shown, groups, k).items():
            if reason is not None:
                hidden[g].add(q)
    return {g: Verdict(True, None, frozenset(hidden[g])) if people[g] is None else Verdict(False, people[g])
            for g in sorted(groups, key=lambda g: (priority(g), g))}
