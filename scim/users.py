"""The SCIM Users operations over the people services: create, replace, patch, deactivate, delete, find.

The rules for people (e-mail, name, department, manager, cycles) are ``people.directory``'s; this
module turns SCIM resources into its fields and back. Each change is recorded in the audit log by
Polso itself (``actor=None``; the summary says SCIM did it), in the transaction the service commits.
``active: false`` deactivates through ``directory.set_active``: the person can no longer sign in and
is no longer invited to surveys; everything they did stays.

DELETE deactivates the person and marks them deleted for SCIM, which from then on answers 404 for
them (RFC 7644 §3.6 allows a provider to keep the resource); a POST with their userName is refused
as taken (409), since the person and their history are still in Polso.

May import: ``people.directory``, ``audit``, ``scim.mapping``, ``scim.models``, scim2-models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from scim2_models import InvalidFilterException, InvalidValueException, NotFoundException, PatchOp, UniquenessException

import audit
from extensions import db
from people import directory
from people.models import Person
from scim import mapping
from scim.models import ScimUser

#: The attributes a filter may compare with ``eq``, and the column each compares.
FILTERABLE = {"username": Person.email, "externalid": ScimUser.external_id, "id": Person.id}


def get(resource_id: str) -> Person:
    """The person SCIM knows as ``resource_id``. :raise NotFoundException: none, or deleted through SCIM."""
    number = mapping.person_id(resource_id)
    person = db.session.get(Person, number) if number else None
    link = db.session.get(ScimUser, person.id) if person else None
    if person is None or (link is not None and link.deleted_at is not None):
        raise NotFoundException(detail=f"No User {resource_id}.")
    return person


def link_of(person: Person) -> ScimUser | None:
    return db.session.get(ScimUser, person.id)


def _link(person: Person, now: datetime) -> ScimUser:
    link = db.session.get(ScimUser, person.id)
    if link is None:
        link = ScimUser(person_id=person.id, updated_at=now)
        db.session.add(link)
    link.updated_at = now
    return link


def _refuse_taken(user_name: Any, person: Person | None = None) -> None:
    """:raise UniquenessException: ``user_name`` is someone else's e-mail (the service would refuse it too)."""
    try:
        key = directory.normalize_email(user_name)
    except ValueError:
        return  # the service says what is wrong with it
    owner = directory.people_by_email([key]).get(key)
    if owner is not None and (person is None or owner.id != person.id):
        raise UniquenessException(detail=f"userName {key} is already taken.")


def create(user, now: datetime) -> Person:
    """A new person from a SCIM User (POST), committed. :raise UniquenessException: the userName is taken."""
    _refuse_taken(user.user_name)
    values = mapping.person_fields(user)
    values.setdefault("active", True)
    kept = mapping.client_fields(user)
    person = directory.create_person(values)
    kept.keep(_link(person, now), person.name)
    audit.record("scim.user.created", actor=None, target=person, summary=f"{person.email} (SCIM)", now=now)
    db.session.commit()
    return person


def replace(person: Person, user, now: datetime, *, before=None) -> Person:
    """Change ``person`` to what ``user`` asserts (PUT; or, with ``before``, the patched whole of a PATCH).

    :raise UniquenessException: the new userName is someone else's.
    :raise errors.ValidationError: a people rule refuses it; nothing is kept.
    """
    _refuse_taken(user.user_name, person)
    values = mapping.person_fields(user, before=before)
    active = values.pop("active", None)
    kept = mapping.client_fields(user, before=before)
    changed = _changes(person, values)
    kept.keep(_link(person, now), values.get("name"))
    if changed:
        audit.record("scim.user.updated", actor=None, target=person,
                     summary=f"{person.email} (SCIM): {', '.join(changed)}", now=now)
    directory.update_person(person, values)  # commits the link and the record with the change
    if active is not None:
        set_active(person, active, now)
    return person


def patch(person: Person, operations: PatchOp, now: datetime, locate: mapping.Locate) -> Person:
    """Apply a PATCH (RFC 7644 §3.5.2) to ``person`` as a whole: all of it, or nothing.

    :raise SCIMException: an operation does not apply (scim2-models says which, with its scimType).
    """
    before = mapping.to_resource(person, link_of(person), locate, split_name=True)
    patched = before.model_copy(deep=True)
    operations.patch(patched)
    return replace(person, patched, now, before=before)


def set_active(person: Person, active: bool, now: datetime, *, action: str | None = None) -> None:
    """Deactivate or reactivate ``person`` through the people service, recorded; nothing if already so."""
    if person.active == active and action is None:
        return
    action = action or ("scim.user.reactivated" if active else "scim.user.deactivated")
    audit.record(action, actor=None, target=person, summary=f"{person.email} (SCIM)", now=now)
    directory.set_active(person, active)


def delete(person: Person, now: datetime) -> None:
    """DELETE: deactivate ``person`` and answer 404 for them from now on; their data stays."""
    _link(person, now).deleted_at = now
    set_active(person, False, now, action="scim.user.deleted")


def _changes(person: Person, values: dict[str, Any]) -> list[str]:
    """The attributes ``values`` would change on ``person`` (for the audit summary), as SCIM names them."""
    cleaned, _errors = directory.clean_person(values)
    current = {"email": person.email, "name": person.name, "locale": person.locale,
               "department": person.department.name_key if person.department else None,
               "manager_email": person.manager.email if person.manager else None}
    changed = []
    for field, scim_name in (("email", "userName"), ("name", "name"), ("locale", "locale"),
                             ("department", "department"), ("manager_email", "manager")):
        if field not in cleaned:
            continue
        value = cleaned[field].lower() if field == "department" and cleaned[field] else cleaned[field]
        if value != current[field]:
            changed.append(scim_name)
    if cleaned.get("timezone") and cleaned["timezone"] != person.timezone:
        changed.append("timezone")
    return changed


def _where(filter_ast) -> Any:
    """The SQL condition for a filter: ``<attribute> eq "<value>"`` on userName, externalId or id."""
    from scim2_models.path.expressions import CompareOperator, Comparison

    if filter_ast is None:
        return sa.true()
    path = getattr(filter_ast, "attr_path", None)
    column = FILTERABLE.get(path.attr.lower()) if isinstance(filter_ast, Comparison) and path else None
    if column is None or path.sub_attr or filter_ast.op != CompareOperator.eq:
        raise InvalidFilterException(detail='Polso filters Users by userName, externalId or id, with "eq" only.')
    value = filter_ast.value
    if "\x00" in str(value):
        return sa.false()  # nothing stored holds NUL (and PostgreSQL refuses it in a query)
    if column is Person.id:
        number = mapping.person_id(value)
        return Person.id == number if number else sa.false()
    if column is Person.email:
        return Person.email == str(value).strip().lower()
    return ScimUser.external_id == str(value)


def find(filter_ast, start_index: int, count: int) -> tuple[int, list[Person]]:
    """How many people match ``filter_ast``, and those from the ``start_index``-th (1-based), at most ``count``.

    People deleted through SCIM are left out; the order is by id, so pages do not overlap.
    :raise InvalidFilterException: a filter Polso does not evaluate.
    """
    if count < 0:
        raise InvalidValueException(detail="count must not be negative")
    stmt = (sa.select(Person).outerjoin(ScimUser, ScimUser.person_id == Person.id)
            .where(ScimUser.deleted_at.is_(None), _where(filter_ast)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    page = (stmt.options(so.selectinload(Person.department), so.selectinload(Person.manager))
            .order_by(Person.id).offset(max(start_index, 1) - 1).limit(count))
    people = list(db.session.scalars(page))
    # Their SCIM records, loaded in one query: the resources read them from the session.
    list(db.session.scalars(sa.select(ScimUser).where(ScimUser.person_id.in_([p.id for p in people]))))
    return total, people

