"""Where a service's refusal shows on an HTML form: each field's message on that field.

Services name fields as the API does (``starts_at``, ``milestones.2.amount_minor``); a form may
show one under another name (``starts_on``) or not at all (a hidden id). ``place_errors`` puts
every message it can on its field and hands back the rest, for the page to show above the form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def place_errors(form: Any, fields: Mapping[str, str], *, aliases: Mapping[str, str] | None = None,
                 field_for: Callable[[str], Any] | None = None, fallback: Any = None) -> list[str]:
    """Add each message of ``fields`` to the errors of the form field it names; return those no field takes.

    A name is looked up through ``aliases`` first, then as the form's attribute named by its first
    dotted part (``questions.0.text`` → ``questions``), unless ``field_for`` resolves names itself.
    A message whose field is missing goes to ``fallback`` when one is given.
    """
    aliases = aliases or {}

    def attribute(name: str) -> Any:
        name = aliases.get(name, name)
        return getattr(form, aliases.get(name.split(".")[0], name.split(".")[0]), None)

    resolve = field_for or attribute
    unplaced: list[str] = []
    for name, message in fields.items():
        field = resolve(name)
        if field is None or not hasattr(field, "errors"):
            field = fallback
        if field is None:
            unplaced.append(message)
        else:
            field.errors = [*field.errors, message]
    return unplaced
