"""The anonymity guard: which groups' results may be shown.

Every page, chart point, export row and API answer that shows results for a
group must ask :func:`guard` first, with every group the viewer could see
for the same round in one call, so that no two visible results can be
subtracted to expose fewer than ``k`` people.

The promise, for the groups ``guard`` marks as shown (proved by the tests
on random trees):

a. every shown group has at least ``k`` responses;
b. a shown group and any shown group inside it differ by 0 or at least
   ``k`` responses;
c. a shown group minus its nearest shown subgroups (the shown groups below
   it with no shown group in between) leaves 0 or at least ``k``
   responses.

Together these mean every difference or union that can be formed from shown
groups is empty or has at least ``k`` people. Hidden groups carry a machine
reason; comments are released only for root groups with at least
``comment_threshold`` responses, because comments are never broken down
below company level.

Cuts that are not nested (a department, a manager's team that straddles
it, a tenure band) cannot be one forest. :func:`guard_overlaps` settles them
together afterwards: it hides further groups until every *atom* of the shown
groups (the people who belong to exactly the same shown groups) has 0 or at
least ``k`` responses. Any union, difference or other combination of shown
results is then a sum of atoms, so none can single out fewer than ``k``
people, whichever way the groups were cut.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from scoring._validation import is_int

DEFAULT_MIN_GROUP_SIZE = 5
MIN_GROUP_SIZE_RANGE = range(3, 11)
COMMENT_THRESHOLD = 10

Reason = Literal["below_k", "parent_difference", "complementary", "overlap"]


@dataclass(frozen=True, slots=True)
class GroupCount:
    """One group of respondents in a forest of nested groups.

    ``n`` counts the responses in the whole subtree, including the group's
    own direct members, so ``n - sum(child.n)`` is the number of direct
    members (never shown on their own). ``parent`` is None for a root.
    ``key`` must not be None, and keys must be mutually orderable (all ints
    or all strings, say) because ties are broken by key.
    """

    key: Hashable
    parent: Hashable | None
    n: int


@dataclass(frozen=True, slots=True)
class Visibility:
    """What may be shown for one group.

    ``reason`` is None when shown, else ``"below_k"`` (fewer than k
    responses), ``"parent_difference"`` (the result of its nearest shown
    ancestor differs from it by 1..k-1) or ``"complementary"`` (hidden so
    that the hidden remainder of its nearest shown ancestor is 0 or at
    least k) or ``"overlap"`` (hidden by :func:`guard_overlaps` because it
    could be combined with a group of another cut to single out fewer than k).
    """

    shown: bool
    comments_shown: bool
    reason: Reason | None


def check_min_group_size(k: object) -> int:
    """Return ``k`` if it is an allowed minimum group size (an int 3..10).

    :raise ValueError: otherwise, bools included.
    """
    if not is_int(k) or k not in MIN_GROUP_SIZE_RANGE:
        raise ValueError(f"minimum group size k must be an integer from 3 to 10, got {k!r}")
    return int(k)


def is_shown(n: int, k: int) -> bool:
    """Return whether a lone group of ``n`` responses clears the threshold ``k``.

    This is only rule (a). It is enough for a result that no other visible
    result overlaps (a company total with no breakdown); anything with
    subgroups must go through :func:`guard`.

    :raise ValueError: for a negative or non-integer ``n`` or a ``k`` outside 3..10.
    """
    k = check_min_group_size(k)
    if not is_int(n) or n < 0:
        raise ValueError(f"group size n must be a non-negative integer, got {n!r}")
    return n >= k


def guard(
    groups: Iterable[GroupCount], k: int, comment_threshold: int = COMMENT_THRESHOLD
) -> dict[Hashable, Visibility]:
    """Decide which groups may be shown and which may show comments.

    Rules, applied top-down (roots first, then by depth), so that a larger
    group keeps its result in preference to the groups inside it:

    1. A group with fewer than ``k`` responses is hidden (``"below_k"``),
       and so is everything inside it.
    2. For each shown group P, its hidden remainder is P.n minus its nearest
       shown subgroups. While that remainder is between 1 and k - 1, the
       smallest of those subgroups is hidden too (ties: smaller ``n``, then
       smaller key); its own shown subgroups then become P's nearest ones.
       P's direct members are always part of the remainder. This ends
       because with no shown subgroups the remainder is P.n >= k.
    3. Comments are shown only for shown roots with at least
       ``comment_threshold`` responses.

    Hiding a group only changes the remainder of its nearest shown ancestor,
    which is the group being settled, so one top-down pass reaches the fixed
    point. Runs in O(N log N) for N groups. The result depends only on the
    set of groups, not on their order.

    :param groups: the forest, every group the viewer can see for one round.
    :param k: the survey's minimum group size, an int 3..10.
    :param comment_threshold: fewest responses for comments (default 10).
    :return: a :class:`Visibility` for every key in ``groups``.
    :raise ValueError: for k outside 3..10, a bad comment threshold, a
        duplicate or None key, an unknown parent, a cycle, a negative or
        non-integer n, children whose n add up to more than their parent's,
        or keys that cannot be ordered against each other.
    :raise TypeError: if an item of ``groups`` is not a :class:`GroupCount`.
    """
    k = check_min_group_size(k)
    if not is_int(comment_threshold) or comment_threshold < 1:
        raise ValueError(f"comment_threshold must be a positive integer, got {comment_threshold!r}")
    nodes, children, roots = _forest(groups)

    reasons: dict[Hashable, Reason] = {key: "below_k" for key, g in nodes.items() if g.n < k}
    shown = {key for key in nodes if key not in reasons}

    for key in _top_down(roots, children):
        if key in shown:
            _settle(key, nodes, children, shown, reasons, k)

    return {
        key: Visibility(
            shown=key in shown,
            comments_shown=key in shown and g.parent is None and g.n >= comment_threshold,
            reason=reasons.get(key),
        )
        for key, g in nodes.items()
    }


def guard_overlaps(
    cells: Iterable[tuple[Iterable[Hashable], int]],
    shown: Iterable[Hashable],
    k: int,
    *,
    hide_first: Callable[[Hashable], object] = lambda key: key,
) -> set[Hashable]:
    """Return the shown groups to hide as well, so that no mix of cuts singles anyone out.

    ``cells`` partition the respondents: each is (the keys of every group its
    members belong to, in every cut; how many responses it holds). Groups of
    different cuts may overlap in any way. ``shown`` is what the per-cut
    :func:`guard` calls left visible.

    An *atom* is the set of respondents who belong to exactly the same shown
    groups. While some atom (other than the people in no shown group, who
    appear in no result) has 1..k-1 responses, one group per such atom is
    hidden: the one ``hide_first`` ranks lowest among the groups whose
    hiding merges the atom into a neighbouring atom (one that differs from
    it by that group alone), or, when there is no such neighbour, among the
    groups that set it apart from the nearest atom containing it or
    contained in it. A group that every shown-group member belongs to (the
    company) tells no one apart and is never chosen. Each round hides at
    least one shown group, so this ends, at worst with only the groups that
    hold everyone; those are hidden only if they themselves have fewer
    than ``k`` responses, which the per-cut guard already prevents.

    Every shown group then has 0 or >= k responses and so does every
    difference, intersection or union of shown groups, which is what rules
    (a)-(c) of :func:`guard` promise within one tree, now across trees.

    :param hide_first: sort key; the group with the lowest key is hidden
        first (say, tenure bands before teams before departments, smaller
        before larger).
    :return: the keys to hide, a subset of ``shown``.
    :raise ValueError: for k outside 3..10 or a negative or non-integer count.
    """
    k = check_min_group_size(k)
    visible = set(shown)
    hidden: set[Hashable] = set()
    atoms: dict[frozenset, int] = defaultdict(int)
    for groups, n in cells:
        if not is_int(n) or n < 0:
            raise ValueError(f"cell size must be a non-negative integer, got {n!r}")
        if n:
            atoms[frozenset(groups).intersection(visible)] += n
    while True:
        small = {atom for atom, n in atoms.items() if atom and n < k}
        if not small:
            return hidden
        # A group every shown-group member belongs to (the company, say) tells no one apart: hiding it
        # would merge nothing, so it is never chosen.
        everyone = frozenset.intersection(*(atom for atom in atoms if atom))
        # Hiding a key merges the atom with a neighbour that differs from it by that key alone.
        candidates: dict[frozenset, set[Hashable]] = {
            atom: {key for key in atom - everyone if atom - {key} in atoms} for atom in small}
        for atom in atoms:
            for key in atom - everyone:
                if (neighbour := atom - {key}) in candidates:
                    candidates[neighbour].add(key)
        now_hidden = {min(keys or _apart_from_nearest(atom, atoms, everyone, hide_first), key=hide_first)
                      for atom, keys in candidates.items()}
        visible -= now_hidden
        hidden |= now_hidden
        merged: dict[frozenset, int] = defaultdict(int)
        for atom, n in atoms.items():
            merged[atom - now_hidden if not atom.isdisjoint(now_hidden) else atom] += n
        atoms = merged


def _apart_from_nearest(atom: frozenset, atoms: Iterable[frozenset], everyone: frozenset,
                        hide_first: Callable[[Hashable], object]) -> set[Hashable]:
    """With no neighbour one group away: the groups that set the atom apart from the nearest atom
    containing it or contained in it, so that hiding them one by one merges the two."""
    gaps = [frozenset(other ^ atom) - everyone for other in atoms
            if other != atom and (other < atom or other > atom)]
    gaps = [gap for gap in gaps if gap]
    if gaps:
        return set(min(gaps, key=lambda gap: (len(gap), min(hide_first(key) for key in gap))))
    # None either: any group that sets it apart (one always does unless a group everyone is in has < k).
    return set(atom - everyone) or set(atom)


def _settle(
    key: Hashable,
    nodes: dict[Hashable, GroupCount],
    children: dict[Hashable, list[Hashable]],
    shown: set[Hashable],
    reasons: dict[Hashable, Reason],
    k: int,
) -> None:
    """Hide subgroups of shown ``key`` until its hidden remainder is 0 or >= k."""
    n = nodes[key].n
    frontier = [(nodes[c].n, c) for c in children[key] if c in shown]
    heapq.heapify(frontier)
    visible = sum(size for size, _ in frontier)
    while 0 < n - visible < k:
        size, smallest = heapq.heappop(frontier)
        shown.discard(smallest)
        reasons[smallest] = "parent_difference" if 0 < n - size < k else "complementary"
        visible -= size
        # Deeper groups have not been settled yet, so the hidden group's
        # shown children are exactly its children with n >= k.
        for c in children[smallest]:
            if c in shown:
                heapq.heappush(frontier, (nodes[c].n, c))
                visible += nodes[c].n


def _forest(
    groups: Iterable[GroupCount],
) -> tuple[dict[Hashable, GroupCount], dict[Hashable, list[Hashable]], list[Hashable]]:
    nodes: dict[Hashable, GroupCount] = {}
    for g in groups:
        if not isinstance(g, GroupCount):
            raise TypeError(f"guard() takes GroupCount values, got {g!r}")
        if g.key is None:
            raise ValueError("a group key cannot be None (None marks a root's parent)")
        if g.key in nodes:
            raise ValueError(f"duplicate group key {g.key!r}")
        if not is_int(g.n) or g.n < 0:
            raise ValueError(f"group {g.key!r}: n must be a non-negative integer, got {g.n!r}")
        nodes[g.key] = g
    try:
        # Sorting once proves the keys are comparable, so the heap ties
        # cannot raise TypeError halfway through; it also fixes root order.
        ordered = sorted(nodes)
    except TypeError as exc:
        raise ValueError(f"group keys must be mutually orderable: {exc}") from None

    children: dict[Hashable, list[Hashable]] = {key: [] for key in ordered}
    roots: list[Hashable] = []
    for key in ordered:
        parent = nodes[key].parent
        if parent is None:
            roots.append(key)
        elif parent not in nodes:
            raise ValueError(f"group {key!r} has unknown parent {parent!r}")
        else:
            children[parent].append(key)

    reached = sum(1 for _ in _top_down(roots, children))
    if reached != len(nodes):
        stuck = sorted(set(nodes) - set(_top_down(roots, children)))
        raise ValueError(f"groups form a cycle and never reach a root: {stuck!r}")

    for key in ordered:
        inside = sum(nodes[c].n for c in children[key])
        if inside > nodes[key].n:
            raise ValueError(f"group {key!r} has n={nodes[key].n} but its subgroups add up to {inside}")
    return nodes, children, roots


def _top_down(roots: list[Hashable], children: dict[Hashable, list[Hashable]]) -> Iterator[Hashable]:
    queue = deque(roots)
    while queue:
        key = queue.popleft()
        yield key
        queue.extend(children[key])
