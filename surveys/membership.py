"""Who belongs where in a round, fixed when it opens.

When a round opens, the department and manager trees are copied onto the
round and every invitation gets its person's generalised segment
(``scoring.segments``): the (department, manager, tenure band) that at least
k of the round's invited people share. Answers are stored with that
segment, and results are counted over the copied trees, so a move, a new
manager or a reorganisation during the round changes nothing in it, and a
recount gives the same figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date

from people import org
from people.models import Person
from scoring.segments import Segment, generalise

Trees = dict[str, dict[int, int]]


def tenure_band(hired_on: date | None, on: date) -> str | None:
    if hired_on is None:
        return None
    # Whole years of service (what relativedelta(on, hired_on).years gives, a hundred times faster).
    years = on.year - hired_on.year - ((on.month, on.day) < (hired_on.month, hired_on.day))
    return "<1y" if years < 1 else "1-2y" if years < 2 else "2-5y" if years < 5 else "5y+"


def org_trees(more_managers: Iterable[int] = ()) -> Trees:
    """The department tree and the manager tree as they stand: {key: parent key}, -1 at the top.

    The manager tree holds everyone who manages someone, and ``more_managers`` too.
    """
    departments = org.department_parents()
    boss = org.manager_parents()
    managers = {m for m in boss.values() if m is not None} | set(more_managers)
    return {
        "department": {d: p if p in departments else -1 for d, p in departments.items()},
        "manager": {m: boss.get(m) if boss.get(m) in managers else -1 for m in managers},
    }


def trees_to_json(trees: Trees) -> dict:
    return {kind: {str(key): parent for key, parent in tree.items()} for kind, tree in trees.items()}


def trees_from_json(data: Mapping | None) -> Trees | None:
    if not data:
        return None
    return {kind: {int(key): parent for key, parent in tree.items()} for kind, tree in data.items()}


def exact_segment(person: Person, opens_on: date) -> Segment:
    return (person.department_id, person.manager_id, tenure_band(person.hired_on, opens_on))


def cells(people: Iterable[Person], opens_on: date, trees: Trees, k: int) -> dict[int, Segment]:
    """person id → generalised segment, for everyone invited to one round."""
    exact = {person.id: exact_segment(person, opens_on) for person in people}
    mapping = generalise(Counter(exact.values()), trees["department"], trees["manager"], k)
    return {person_id: mapping[segment] for person_id, segment in exact.items()}
