"""Generalised segments: what a stored response may say about who gave it.

A response is stored with a segment, (department, manager, tenure band),
so that results can be broken down. A segment held by a single invited
person would name that person, so segments are *generalised* before
anything is stored: :func:`generalise` maps each person's exact segment to
a coarser one that at least ``k`` of the round's invited people share.

The promise, for counts of invited people per exact segment:

a. every generalised segment that some invited person maps to is shared by
   at least ``k`` of them, unless the whole round has fewer than ``k``
   invited people; then everyone maps to :data:`WHOLE`, the segment that
   says nothing;
b. a segment that already holds ``k`` or more people is kept as it is;
c. coarsening goes one step at a time, in this order: drop the tenure band,
   then move the manager up the manager tree (a team becomes the manager's
   manager's organisation, then "no team"), then move the department up the
   department tree. So a department is kept before a team, and a team before
   a tenure band, because HR reads departments first;
d. the result depends only on the counts and the trees, never on the order
   they are given in (ties are broken by the segment itself).

It stops because every step moves a small segment up one of two finite
trees; after at most (tree depth) steps per segment every small one has
reached :data:`WHOLE` or merged into a segment of ``k`` or more. If
:data:`WHOLE` is then left with 1..k-1 people, the smallest other segments
are folded into it until it holds ``k``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

Segment = tuple[int | None, int | None, str | None]
WHOLE: Segment = (None, None, None)


def _order(segment: Segment) -> tuple:
    return tuple((value is None, str(value)) for value in segment)


def coarser(segment: Segment, department_parent: Mapping[int, int | None],
            manager_parent: Mapping[int, int | None]) -> Segment:
    """The next coarser segment: without the tenure band, then the manager one level up, then the department."""
    department, manager, band = segment
    if band is not None:
        return (department, manager, None)
    if manager is not None:
        parent = manager_parent.get(manager)
        return (department, parent if parent is not None and parent >= 0 else None, None)
    if department is not None:
        parent = department_parent.get(department)
        return (parent if parent is not None and parent >= 0 else None, None, None)
    return WHOLE


def generalise(counts: Mapping[Segment, int], department_parent: Mapping[int, int | None],
               manager_parent: Mapping[int, int | None], k: int) -> dict[Segment, Segment]:
    """Map each exact segment to its generalised segment (see the module's promise).

    ``counts`` holds the number of invited people per exact segment;
    ``department_parent`` and ``manager_parent`` give each node's parent (None
    or a negative number at the top).
    :raise ValueError: for k < 1 or a negative count.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    mapping = {segment: segment for segment, n in counts.items() if n > 0}
    # Depth bound: a cycle in bad data must not loop for ever.
    for _ in range(2 * (len(department_parent) + len(manager_parent)) + 4):
        sizes: Counter[Segment] = Counter()
        for segment, target in mapping.items():
            sizes[target] += counts[segment]
        small = {target for target, n in sizes.items() if n < k and target != WHOLE}
        if not small:
            break
        step = {target: coarser(target, department_parent, manager_parent) for target in small}
        mapping = {segment: step.get(target, target) for segment, target in mapping.items()}
    else:
        mapping = {segment: WHOLE if sizes[target] < k else target for segment, target in mapping.items()}
    sizes = Counter()
    for segment, target in mapping.items():
        sizes[target] += counts[segment]
    if 0 < sizes[WHOLE] < k:
        others = sorted((n, _order(target), target) for target, n in sizes.items() if target != WHOLE)
        folded: set[Segment] = set()
        total = sizes[WHOLE]
        for n, _key, target in others:
            if total >= k:
                break
            folded.add(target)
            total += n
        mapping = {segment: WHOLE if target in folded else target for segment, target in mapping.items()}
    return mapping
