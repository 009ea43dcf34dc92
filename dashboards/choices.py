"""What the results filters offer: departments to HR, teams to a manager, at any size of organisation.

Up to ``FULL_LIST`` choices the filter lists them all, as a short list to pick from. Above that (a
company of 100,000 has some 11,000 departments and as many managers) it lists the top levels, the
way down to the chosen group and the groups right below it (at most ``BELOW``), and a search by
name finds any other (at most ``MATCHES`` at a time).

What is offered is the organisation as it stands, never a round's results: each choice is a name
that the full list would hold too (departments for HR; for a manager, the teams of their own
organisation), with no count and no verdict. Whether a group's results are shown is decided only
by the anonymity guard's stored verdict, on the results page the choice leads to; so neither the
list nor a search tells a shown group from a hidden one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from extensions import db
from people import org
from people.models import Department, Person

FULL_LIST = 200
BELOW = 100
MATCHES = 50
QUERY_LENGTH = 120


@dataclass(frozen=True)
class Choices:
    """``options`` (id, label) to pick from, sorted for reading; ``complete`` when they are every choice.

    With a search (``query``), its ``matches`` and whether there were ``more_matches`` than listed;
    ``not_listed`` counts the groups right below the chosen one that are left out of ``options``.
    """

    options: list[tuple[int, str]]
    complete: bool
    not_listed: int = 0
    query: str | None = None
    matches: list[tuple[int, str]] = field(default_factory=list)
    more_matches: bool = False


def _names(model, ids: set[int]) -> dict[int, str]:
    ids = sorted(ids)
    found: dict[int, str] = {}
    for start in range(0, len(ids), 5000):  # PostgreSQL takes at most 65,535 bound parameters
        found.update(db.session.execute(sa.select(model.id, model.name)
                                        .where(model.id.in_(ids[start:start + 5000]))).all())
    return found


def _contains(column, query: str):
    return sa.func.lower(column).contains(query.lower(), autoescape=True)


def offered(viewer: Person, cut: str, key: int | None, query: str | None = None) -> Choices:
    """What ``viewer``'s filter offers, with the group asked for (``cut``, ``key``) chosen: HR picks
    among departments, anyone else among the teams of their own organisation."""
    if viewer.is_hr:
        return departments(key if cut == "department" else None, query)
    return teams(viewer, key if cut == "manager" else None, query)


# --- Departments (HR) -------------------------------------------------------------------


def departments(selected: int | None = None, query: str | None = None) -> Choices:
    """The departments HR's filter offers, each labelled with its path ("Parent / Child").

    A large tree is never read whole: the top levels, the chosen department's neighbours and the
    search's matches, then their ancestors (for the paths), each in one statement.
    """
    if db.session.scalar(sa.select(sa.func.count()).select_from(Department)) <= FULL_LIST:
        return Choices(sorted(org.department_path_names().items(), key=lambda item: item[1].lower()), True)
    listed = set(db.session.scalars(sa.select(Department.id).where(Department.parent_id.is_(None))))
    listed.update(db.session.scalars(sa.select(Department.id).where(Department.parent_id.in_(sorted(listed)))))
    not_listed = 0
    if selected is not None:
        below = Department.parent_id == selected
        listed.add(selected)
        listed.update(db.session.scalars(sa.select(Department.id).where(below)
                                         .order_by(sa.func.lower(Department.name), Department.id).limit(BELOW)))
        not_listed = max(0, db.session.scalar(sa.select(sa.func.count()).where(below)) - BELOW)
    matches, more = [], False
    found: list[int] = []
    if query:
        found = list(db.session.scalars(sa.select(Department.id).where(_contains(Department.name, query))
                                        .order_by(sa.func.lower(Department.name), Department.id)
                                        .limit(MATCHES + 1)))
        more, found = len(found) > MATCHES, found[:MATCHES]
    parents, names = _ancestry(listed | set(found))
    if selected in parents:
        listed.update(org.ancestors(parents, selected))
    if found:
        matches = _department_labels(parents, names, set(found))
    return Choices(_department_labels(parents, names, listed), False, not_listed, query, matches, more)


def _ancestry(ids: set[int]) -> tuple[dict[int, int | None], dict[int, str]]:
    """These departments and all above them: their parents and their names."""
    if not ids:
        return {}, {}
    up = (sa.select(Department.id, Department.parent_id, Department.name)
          .where(Department.id.in_(sorted(ids))).cte("up", recursive=True))
    above = so.aliased(Department)
    up = up.union(sa.select(above.id, above.parent_id, above.name).join(up, above.id == up.c.parent_id))
    rows = db.session.execute(sa.select(up)).all()
    return {row.id: row.parent_id for row in rows}, {row.id: row.name for row in rows}


def _department_labels(parents: dict[int, int | None], names: dict[int, str], ids: set[int]) -> list[tuple[int, str]]:
    labels = {d: " / ".join(names[node] for node in org.path(parents, d)) for d in ids if d in parents}
    return sorted(labels.items(), key=lambda item: item[1].lower())


# --- Teams (a manager's own organisation) -----------------------------------------------


def teams(viewer: Person, selected: int | None = None, query: str | None = None) -> Choices:
    """The teams a manager's filter offers: their own and those below them (HR: every manager's).

    Each is labelled with the manager's name; the caller words it ("Team of ...").
    """
    parents = _manager_line()
    below = org.children(parents)
    managers = set(parents)
    allowed = managers if viewer.is_hr else org.subtree(parents, viewer.id) & managers
    if len(allowed) <= FULL_LIST:
        return Choices(_team_labels(allowed), True)
    tops = set(org.roots(parents)) if viewer.is_hr else {viewer.id}
    listed = tops | {m for top in tops for m in below.get(top, ()) if m in managers}
    not_listed = 0
    if selected in allowed:
        line = org.path(parents, selected)
        listed.update(m for m in line if m in allowed)
        kids = [m for m in below.get(selected, ()) if m in managers]
        if len(kids) > BELOW:
            names = dict(db.session.execute(sa.select(Person.id, Person.name)
                                            .where(Person.manager_id == selected)).all())
            kids = sorted(kids, key=lambda m: names[m].lower())[:BELOW]
        not_listed = sum(1 for m in below.get(selected, ()) if m in managers) - len(kids)
        listed.update(kids)
    matches, more = [], False
    if query:
        reports = so.aliased(Person)
        stmt = (sa.select(Person.id, Person.name)
                .where(_contains(Person.name, query), sa.exists().where(reports.manager_id == Person.id))
                .order_by(sa.func.lower(Person.name), Person.id))
        found = [(m, name) for m, name in db.session.execute(stmt) if m in allowed]
        more, matches = len(found) > MATCHES, found[:MATCHES]
    return Choices(_team_labels(listed), False, not_listed, query, matches, more)


def _manager_line() -> dict[int, int | None]:
    """Every manager (whoever has a report) → their own manager: the reporting line over teams only.

    A manager's manager is a manager too, so this is the manager tree without the people who manage
    nobody (nine in ten of a large company), and a manager's teams are their subtree in it.
    """
    reports = so.aliased(Person)
    return dict(db.session.execute(sa.select(Person.id, Person.manager_id)
                                   .where(sa.exists().where(reports.manager_id == Person.id))).all())


def _team_labels(ids: set[int]) -> list[tuple[int, str]]:
    names = _names(Person, ids)
    return sorted(((m, names.get(m, "?")) for m in ids), key=lambda item: item[1].lower())
