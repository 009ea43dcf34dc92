"""The organisation's two trees: departments and the reporting line.

Each tree is a parent map, ``{node: parent}``: a department id to its parent
department's id, a person's id to their manager's id. A node whose parent is
not a key of the map (``None`` in the database, ``-1`` in the trees a round
snapshots) is at the top. Every walk of either tree goes through here, over
the live trees (``department_parents``, ``manager_parents``) or over a copy
(a round's snapshot), so all of them agree on what is above and below.

Cycles cannot be stored: a department gets its parent, an existing
department, only when it is created, and ``people`` services refuse a
manager that would close a reporting loop. The walks are guarded anyway: each
stops at the first node it meets twice.

Reads only. May import: the models and the session.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import sqlalchemy as sa

from extensions import db
from people.models import Department, Person

# Nodes are ids, or any hashable key: an import checks its rows' reporting line by e-mail.
Parents = Mapping[Any, Hashable | None]


# --- Any tree, as a parent map ---------------------------------------------------------


def ancestors(parents: Parents, node: int | None) -> list[int]:
    """``node``, its parent, its parent's parent ... up to the top.

    Only keys of ``parents`` are listed: a node that is not in the tree has
    no ancestors (an empty list).
    """
    line: list[int] = []
    seen: set[int] = set()
    while node in parents and node not in seen:
        seen.add(node)
        line.append(node)
        node = parents[node]
    return line


def path(parents: Parents, node: int | None) -> list[int]:
    """The way from the top down to ``node`` (``node`` last); empty when it is not in the tree."""
    return ancestors(parents, node)[::-1]


def ancestor_at(parents: Parents, node: int | None, depth: int) -> int | None:
    """``node``'s ancestor ``depth`` levels below the top (0: the top itself), or ``node`` itself when it
    is not that deep; ``None`` when it is not in the tree."""
    line = path(parents, node)
    return line[min(depth, len(line) - 1)] if line else None


def roots(parents: Parents) -> list[int]:
    """The nodes at the top of the tree."""
    return [node for node, parent in parents.items() if parent not in parents]


def children(parents: Parents) -> dict[int | None, list[int]]:
    """Parent → the nodes right below it (the top's nodes under their stored parent, ``None`` or ``-1``)."""
    below: dict[int | None, list[int]] = {}
    for node, parent in parents.items():
        below.setdefault(parent, []).append(node)
    return below


def descendants(parents: Parents, node: int) -> set[int]:
    """Every node below ``node``, at any depth (``node`` itself is not one)."""
    below = children(parents)
    found: set[int] = set()
    stack = list(below.get(node, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(below.get(current, ()))
    return found


def subtree(parents: Parents, node: int) -> set[int]:
    """``node`` and every node below it."""
    return {node} | descendants(parents, node)


# --- The live trees ---------------------------------------------------------------------


def department_parents() -> dict[int, int | None]:
    """Every department's id → its parent's id (``None`` at the top)."""
    return dict(db.session.execute(sa.select(Department.id, Department.parent_id)).all())


def department_names() -> dict[int, str]:
    """Every department's id → its name."""
    return dict(db.session.execute(sa.select(Department.id, Department.name)).all())


def manager_parents() -> dict[int, int | None]:
    """Every person's id → their manager's id (``None`` for who has no manager), active or not."""
    return dict(db.session.execute(sa.select(Person.id, Person.manager_id)).all())


def department_subtree(department_id: int) -> set[int]:
    """The ids of a department and of every department below it."""
    return subtree(department_parents(), department_id)


def reports_under(manager_id: int) -> set[int]:
    """The ids of everyone below a manager, at any depth (not the manager), active or not."""
    return descendants(manager_parents(), manager_id)


def department_path_names() -> dict[int, str]:
    """Every department's id → its path from the top, ``"Parent / Child"``."""
    parents, names = department_parents(), department_names()
    return {dept_id: " / ".join(names[node] for node in path(parents, dept_id)) for dept_id in parents}
