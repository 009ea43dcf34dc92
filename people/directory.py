"""People and departments: who they are, where they sit and whom they report to.

Every write goes through here, whether it comes from an HR page, the JSON
API, the CSV importer or the CLI, so all of them accept and refuse alike.
Services validate everything first and raise ``errors.ValidationError``
(field → message) before writing anything.

May import: ``inputs``, ``people.org`` (the trees), ``people.timezones``, the models and the session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

import audit
import inputs
from errors import Forbidden, ValidationError, get_or_raise
from extensions import db
from people import org
from people.models import KINDS, ROLES, CredentialLink, Department, Person
from people.timezones import default_timezone
from settings import LANGUAGES

PERSON_FIELDS = ("email", "name", "department", "department_id", "manager_email", "role", "kind",
                 "hired_on", "locale", "timezone", "active")


def normalize_email(value: Any) -> str:
    """Return the canonical (lower-cased) e-mail or raise ``ValueError`` with a reason."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("An e-mail address is required."))
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_("Not a valid e-mail address.")) from None
    return inputs.email_key(result.normalized)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError
    return value.strip() or None


def clean_person(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the shape of one person's fields, without looking at the database.

    Returns the cleaned values (only fields present in ``raw``) and the errors.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def text(name: str) -> str | None:
        try:
            value = _text(raw.get(name))
        except TypeError:
            errors[name] = _("Must be text.")
            return None
        # One line, no NUL: names and addresses end up in e-mail headers, CSV rows and calendar lines.
        return inputs.collect(errors, inputs.read_text, value, name, max_length=10_000, required=False,
                              single_line=True)

    try:
        values["email"] = normalize_email(raw.get("email"))
    except ValueError as exc:
        errors["email"] = str(exc)

    name = text("name")
    if not name and "name" not in errors:
        errors["name"] = _("A name is required.")
    elif name and len(name) > 120:
        errors["name"] = _("At most 120 characters.")
    values["name"] = name

    if "department" in raw:
        dept = text("department")
        if dept and len(dept) > 120:
            errors["department"] = _("At most 120 characters.")
        values["department"] = dept
    if "department_id" in raw:
        values["department_id"] = inputs.collect(errors, inputs.read_id, raw.get("department_id"), "department_id",
                                                 required=False, from_text=False)
    if "manager_email" in raw:
        manager = text("manager_email")
        if manager:
            try:
                manager = normalize_email(manager)
            except ValueError as exc:
                errors["manager_email"] = str(exc)
        values["manager_email"] = manager
    for name, allowed, default in (("role", ROLES, "employee"), ("kind", KINDS, "employee")):
        if name in raw:
            value = text(name) or default
            if value not in allowed:
                errors[name] = _("Must be one of: %(choices)s.", choices=", ".join(allowed))
            values[name] = value
    if "hired_on" in raw:
        values["hired_on"] = inputs.collect(errors, inputs.read_date, raw.get("hired_on"), "hired_on",
                                            required=False)
    if "locale" in raw:
        loc = text("locale")
        if loc and loc not in LANGUAGES:
            errors["locale"] = _("Must be one of: %(choices)s.", choices=", ".join(LANGUAGES))
        values["locale"] = loc
    if "timezone" in raw:
        values["timezone"] = inputs.collect(errors, inputs.read_timezone, raw.get("timezone"), "timezone",
                                            required=False)
    if "active" in raw:
        active = raw.get("active")
        if isinstance(active, str):
            lowered = active.strip().lower()
            active = {"": True, "1": True, "true": True, "yes": True,
                      "0": False, "false": False, "no": False}.get(lowered, active)
        if not isinstance(active, bool):
            errors["active"] = _("Must be true or false.")
        values["active"] = active
    return values, errors


def _manager_map() -> dict[str, str | None]:
    manager = so.aliased(Person)
    rows = db.session.execute(
        sa.select(Person.email, manager.email).outerjoin(manager, Person.manager_id == manager.id)
    )
    return dict(rows.all())


def _in_cycle(start: str, managers: Mapping[str, str | None]) -> bool:
    """Whether going up from ``start``'s manager (e-mail → manager's e-mail) comes back to ``start``."""
    # A loop not through ``start`` is reported on the rows that form it.
    return start in org.ancestors(managers, managers.get(start))


@dataclass
class RowError:
    row: int
    fields: dict[str, str] = field(default_factory=dict)


def _department_id(name_or_id: str | int | None, *, create: bool) -> int | None:
    if name_or_id is None:
        return None
    if isinstance(name_or_id, int):
        return name_or_id
    dept = db.session.scalar(sa.select(Department).where(Department.name_key == name_or_id.lower()))
    if dept is None:
        if not create:
            return None
        dept = Department(name=name_or_id, name_key=name_or_id.lower())
        db.session.add(dept)
        db.session.flush()
    return dept.id


def upsert_people(rows: list[Mapping[str, Any]], *, first_row: int = 1,
                  report_rows: bool | None = None, by: Person | None = None) -> list[Person]:
    """Create or update people keyed by e-mail, all or nothing.

    Managers are referenced by e-mail (in the database or earlier/later in
    ``rows``); departments by id, or by name and created on first use.
    With ``by`` (who does it), each person added or changed is in the audit log, in the same
    transaction; commands and SCIM (which logs its own) pass none.
    :raise ValidationError: with ``fields`` for a single row, or with
        ``rows`` (a list of ``RowError``) for several; nothing is written.
    """
    cleaned: list[dict[str, Any]] = []
    row_errors: list[RowError] = []
    seen: dict[str, int] = {}
    known_departments = set(db.session.scalars(sa.select(Department.id)))
    for offset, raw in enumerate(rows):
        number = first_row + offset
        values, errors = clean_person(raw)
        email = values.get("email")
        if email and email in seen:
            errors["email"] = _("Duplicate e-mail: also on row %(row)s.", row=seen[email])
        elif email:
            seen[email] = number
        dep_id = values.get("department_id")
        if dep_id is not None and "department_id" not in errors and dep_id not in known_departments:
            errors["department_id"] = _("No department with this id.")
        cleaned.append(values)
        if errors:
            row_errors.append(RowError(number, errors))

    managers = _manager_map()
    for values in cleaned:
        if values.get("email") and "manager_email" in values:
            managers[values["email"]] = values["manager_email"]
    errors_by_row = {e.row: e for e in row_errors}
    for offset, values in enumerate(cleaned):
        number = first_row + offset
        email, manager = values.get("email"), values.get("manager_email")
        if not email or not manager:
            continue
        problem = None
        if manager == email:
            problem = _("A person cannot be their own manager.")
        elif manager not in managers:
            problem = _("Unknown manager: %(email)s.", email=manager)
        elif _in_cycle(email, managers):
            problem = _("This manager would create a reporting cycle.")
        if problem:
            errors_by_row.setdefault(number, RowError(number)).fields.setdefault("manager_email", problem)
    if errors_by_row:
        ordered = [errors_by_row[n] for n in sorted(errors_by_row)]
        if not (len(rows) > 1 if report_rows is None else report_rows):
            raise ValidationError(_("Some fields are not valid."), ordered[0].fields)
        raise ValidationError(_("%(count)s rows have errors; nothing was imported.", count=len(ordered)),
                              rows=ordered)

    try:
        people: dict[str, Person] = {}
        added: set[str] = set()
        for values in cleaned:
            person = db.session.scalar(sa.select(Person).where(Person.email == values["email"]))
            if person is None:
                person = Person(email=values["email"], role="employee", kind="employee", active=True,
                                timezone=default_timezone())
                db.session.add(person)
                added.add(values["email"])
            for name in ("name", "role", "kind", "hired_on", "locale", "active"):
                if name in values:
                    setattr(person, name, values[name])
            if values.get("timezone"):
                person.timezone = values["timezone"]
            if "department_id" in values:
                person.department_id = values["department_id"]
            if "department" in values:
                person.department_id = _department_id(values["department"], create=True)
            people[values["email"]] = person
        db.session.flush()
        for values in cleaned:
            if "manager_email" in values:
                manager = values["manager_email"]
                people[values["email"]].manager_id = (
                    None if manager is None
                    else (people.get(manager) or db.session.scalar(
                        sa.select(Person).where(Person.email == manager))).id
                )
        if by is not None:
            now = datetime.now(UTC)
            for email, person in people.items():
                audit.record("person.created" if email in added else "person.updated", actor=by, target=person,
                             summary=f"{email} ({person.role})", now=now)
            if report_rows:
                audit.record("people.imported", actor=by, now=now, summary=f"{len(people)} people: {len(added)} "
                                                                           f"added, {len(people) - len(added)} changed")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return list(people.values())


def update_person(person: Person, raw: Mapping[str, Any], *, by: Person | None = None) -> Person:
    """Change one person's fields (the e-mail included), or raise ``ValidationError``.

    A ``department`` (a name, as in imports) is found ignoring case, or created if missing.
    With ``by`` (who does it), the change and the fields it touched are in the audit log.
    """
    values, errors = clean_person(raw)
    email = values.get("email")
    if email and email != person.email and db.session.scalar(
        sa.select(Person.id).where(Person.email == email)
    ):
        errors["email"] = _("Another person already has this e-mail.")
    dep_id = values.get("department_id")
    if dep_id is not None and "department_id" not in errors and db.session.get(Department, dep_id) is None:
        errors["department_id"] = _("No department with this id.")
    manager_email = values.get("manager_email")
    manager = None
    if manager_email and "manager_email" not in errors:
        manager = db.session.scalar(sa.select(Person).where(Person.email == manager_email))
        if manager is None:
            errors["manager_email"] = _("Unknown manager: %(email)s.", email=manager_email)
        elif manager.id == person.id:
            errors["manager_email"] = _("A person cannot be their own manager.")
        elif _in_cycle(person.email, {**_manager_map(), person.email: manager.email}):
            errors["manager_email"] = _("This manager would create a reporting cycle.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    if values.get("email") and values["email"] != person.email:
        # A link mailed to the old address (a typo, say) must not set the password of the new one.
        db.session.execute(sa.delete(CredentialLink).where(
            CredentialLink.person_id == person.id, CredentialLink.used_at.is_(None))
            .execution_options(synchronize_session="fetch"))
    for name in ("email", "name", "role", "kind", "hired_on", "locale", "active", "department_id"):
        if name in values:
            setattr(person, name, values[name])
    if values.get("timezone"):
        person.timezone = values["timezone"]
    if "department" in values:
        person.department_id = _department_id(values["department"], create=True)
    if "manager_email" in values:
        person.manager_id = manager.id if manager else None
    if by is not None:
        changed = sorted(attribute.key for attribute in sa.inspect(person).attrs if attribute.history.has_changes())
        audit.record("person.updated", actor=by, target=person, now=datetime.now(UTC),
                     summary=f"{person.email}: {', '.join(changed) or 'nothing'}"
                             + (f" (role {person.role})" if "role" in changed else ""))
    db.session.commit()
    return person


def update_settings(person: Person, values: Mapping[str, Any]) -> Person:
    """A person's own settings: ``locale`` (``None`` for the browser's) and ``timezone`` (blank keeps theirs).

    Nothing else of theirs changes, whatever ``values`` holds. :raise ValidationError: a value is not valid.
    """
    own = {name: values[name] for name in ("locale", "timezone") if name in values}
    return update_person(person, {"email": person.email, "name": person.name, **own})


def set_active(person: Person, active: bool, *, by: Person | None = None) -> None:
    """Activate or deactivate ``person``; ``by``, who asks, may not deactivate themselves.

    :raise Forbidden: ``by`` is ``person`` and ``active`` is false.
    """
    if by is not None and by.id == person.id and not active:
        raise Forbidden(_("You cannot deactivate yourself."))
    person.active = active
    if by is not None:
        audit.record("person.activated" if active else "person.deactivated", actor=by, target=person,
                     summary=person.email, now=datetime.now(UTC))
    db.session.commit()


def create_department(name: Any, parent_id: Any = None) -> Department:
    """Create a department under an optional parent; names are unique, ignoring case."""
    errors: dict[str, str] = {}
    try:
        clean = _text(name)
    except TypeError:
        clean = None
    if not clean:
        errors["name"] = _("A name is required.")
    elif len(clean) > 120:
        errors["name"] = _("At most 120 characters.")
    elif db.session.scalar(sa.select(Department.id).where(Department.name_key == clean.lower())):
        errors["name"] = _("A department with this name already exists.")
    if clean is not None:
        clean = inputs.collect(errors, inputs.read_text, clean, "name", max_length=120, single_line=True)
    if parent_id is not None:
        parent_id = inputs.collect(errors, inputs.read_id, parent_id, "parent_id", from_text=False)
        if parent_id is not None and db.session.get(Department, parent_id) is None:
            errors["parent_id"] = _("No department with this id.")
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
    dept = Department(name=clean, name_key=clean.lower(), parent_id=parent_id)
    db.session.add(dept)
    db.session.commit()
    return dept


def department_choices() -> list[tuple[int, str]]:
    """All departments as (id, "Parent / Child" path), sorted by path."""
    return sorted(org.department_path_names().items(), key=lambda item: item[1].lower())


def search_people(query: str | None, page: int, per_page: int, *, include_inactive: bool = True):
    """A page of people whose name or e-mail contains ``query``, ordered by name."""
    stmt = sa.select(Person).order_by(sa.func.lower(Person.name), Person.id)
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(Person.name).like(like), Person.email.like(like)))
    if not include_inactive:
        stmt = stmt.where(Person.active)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def get_person(person_id: int) -> Person:
    return get_or_raise(Person, person_id, _("No such person."))


def _refuse_taken_email(email: Any) -> None:
    key = inputs.email_key(email)
    if key and db.session.scalar(sa.select(Person.id).where(Person.email == key)):
        raise ValidationError(_("Some fields are not valid."), {"email": _("Another person already has this e-mail.")})


def create_person(raw: Mapping[str, Any], *, by: Person | None = None) -> Person:
    """Add one new person (HR's "new person" page); unlike ``upsert_people``, never changes someone who exists.

    :raise ValidationError: the e-mail is taken, or a field is not valid; nothing is written.
    """
    _refuse_taken_email(raw.get("email"))
    (person,) = upsert_people([raw], by=by)
    return person


def create_user(email: str, name: str, role: str, password: str | None = None,
                manager_email: str | None = None, department: str | None = None) -> Person:
    """The ``users create`` command: a new person, with a department created if missing."""
    _refuse_taken_email(email)
    row: dict[str, Any] = {"email": email, "name": name, "role": role}
    if manager_email:
        row["manager_email"] = manager_email
    if department:
        row["department"] = department
    if password is not None and len(password) < 8:
        raise ValidationError(_("Some fields are not valid."), {"password": _("At least 8 characters.")})
    (person,) = upsert_people([row])
    if password:
        person.set_password(password)
        db.session.commit()
    return person


def people_by_email(emails: Iterable[str]) -> dict[str, Person]:
    emails = list(emails)
    return {p.email: p for p in db.session.scalars(sa.select(Person).where(Person.email.in_(emails)))}
