"""A Polso person as a SCIM User (with the enterprise extension), and a SCIM User as the fields the
people services take.

The correspondence:

- ``id`` is the person's Polso id (as text); ``userName`` is their e-mail, and ``emails`` reports it
  (one work address, primary); an incoming ``emails`` is not read: ``userName`` decides.
- ``name.formatted`` is the person's name; without it, ``givenName`` and ``familyName`` joined make
  it. The parts a client sent are kept (``scim_users``) and given back while the name is still the
  one they made; ``displayName`` is read only as a last resort, and never given back.
- ``active`` is whether the person may sign in and is invited to surveys.
- ``locale`` is read as its language when Polso speaks it (``it-IT`` → ``it``), else as no
  preference (the browser's language); ``timezone`` is an IANA zone name (none: the company's).
- enterprise ``department`` is a Polso department by name, created if missing (as the CSV import
  does); ``manager.value`` is the manager's SCIM ``id``, which is their Polso id; an e-mail address
  is accepted there too.

May import: ``people`` (models and directory), ``scim.models``, scim2-models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import Email, EnterpriseUser, InvalidValueException, Manager, Meta, Name, User

import inputs
from errors import ValidationError
from extensions import db
from people.directory import normalize_email
from people.models import Person
from people.timezones import default_timezone
from scim.models import ScimUser
from settings import LANGUAGES

USER = User[EnterpriseUser]
ENTERPRISE = str(EnterpriseUser.__schema__)
MAX_NAME_PART = 120
MAX_EXTERNAL_ID = 255

Locate = Callable[[int], str]


def to_resource(person: Person, link: ScimUser | None, locate: Locate, *, split_name: bool = False) -> User:
    """``person`` as SCIM shows them; ``locate`` gives a person id's URL (``meta.location``, ``$ref``).

    With ``split_name``, a name no client gave parts for is split at its first space (for a PATCH of
    one part, so that ``givenName`` alone changes the given name and keeps the rest).
    """
    given, family = (link.given_name, link.family_name) if link and link.name_parts_of == person.name else (None, None)
    if split_name and not (given or family):
        given, _space, family = person.name.partition(" ")
    user = USER(
        id=str(person.id),
        external_id=link.external_id if link else None,
        user_name=person.email,
        name=Name(formatted=person.name, given_name=given or None, family_name=family or None),
        emails=[Email(value=person.email, type=Email.Type.work, primary=True)],
        active=person.active,
        locale=person.locale,
        timezone=person.timezone,
        meta=Meta(resource_type="User", created=person.created_at,
                  last_modified=link.updated_at if link else person.created_at, location=locate(person.id)),
    )
    if person.department is not None or person.manager is not None:
        user[EnterpriseUser] = EnterpriseUser(
            department=person.department.name if person.department else None,
            manager=Manager(value=str(person.manager.id), ref=locate(person.manager.id)) if person.manager else None,
        )
    return user


def person_id(text: object) -> int | None:
    """The Polso id a SCIM ``id`` names, or None when it cannot name a row ("x", "²", 40 digits)."""
    try:
        return inputs.read_id(str(text).strip(), "id")
    except ValidationError:
        return None


def _language(locale: str | None) -> str | None:
    if not locale:
        return None
    language = locale.replace("_", "-").split("-")[0].lower()
    return language if language in LANGUAGES else None


def _manager_email(value: str | None) -> str | None:
    """The e-mail of the manager ``value`` names: a SCIM (Polso) id, or an e-mail address."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    if value.isascii() and value.isdigit():
        manager = db.session.get(Person, person_id(value) or 0)
        if manager is None:
            raise InvalidValueException(detail=f"manager: no user with id {value}")
        return manager.email
    if "@" in value:
        try:
            return normalize_email(value)
        except ValueError as error:
            raise InvalidValueException(detail=f"manager: {error}") from None
    raise InvalidValueException(detail="manager.value must be the manager's SCIM id (or their e-mail address)")


def _parts(name: Name | None) -> tuple[str | None, str | None]:
    if name is None:
        return None, None
    return (name.given_name or "").strip() or None, (name.family_name or "").strip() or None


def full_name(user: User, before: User | None = None) -> str | None:
    """The person's name from ``user``; for a PATCH, what changed from ``before`` wins."""
    formatted = (user.name.formatted or "").strip() or None if user.name else None
    given, family = _parts(user.name)
    joined = " ".join(part for part in (given, family) if part) or None
    if before is not None:
        before_formatted = before.name.formatted if before.name else None
        if formatted != before_formatted:
            return formatted or joined
        if (given, family) != _parts(before.name):
            return joined or formatted
    return formatted or joined or (user.display_name or "").strip() or None


def _asserted(model: Any, name: str, everything: bool) -> bool:
    return everything or name in model.model_fields_set


def person_fields(user: User, *, before: User | None = None) -> dict[str, Any]:
    """The people services' fields that ``user`` asserts.

    With ``before`` (a PATCH: ``user`` is the whole patched resource) every attribute is asserted,
    so one left empty is cleared. Without it (a POST or a PUT) an attribute the body leaves out is not
    asserted, and Polso keeps what it has (RFC 7644 §3.5.1 allows either), so a client that does not
    manage departments or managers never wipes HR's; an explicit ``null`` clears it.
    ``active`` is in the result only when asserted and not empty (every person is active or not). A
    ``timezone`` asserted empty is the company's zone (``POLSO_DEFAULT_TIMEZONE``), as for a new person.
    :raise InvalidValueException: a manager that names nobody.
    """
    everything = before is not None
    values: dict[str, Any] = {"email": user.user_name, "name": full_name(user, before)}
    if _asserted(user, "active", everything) and user.active is not None:
        values["active"] = user.active
    if _asserted(user, "locale", everything):
        values["locale"] = _language(user.locale)
    if _asserted(user, "timezone", everything):
        values["timezone"] = user.timezone or default_timezone()
    extension = user[EnterpriseUser]
    if extension is None:
        if everything:
            values["department"] = values["manager_email"] = None
        return values
    if _asserted(extension, "department", everything):
        values["department"] = extension.department
    if _asserted(extension, "manager", everything):
        values["manager_email"] = _manager_email(extension.manager.value if extension.manager else None)
    return values


@dataclass(frozen=True)
class ClientFields:
    """What a SCIM User holds that Polso's people table does not, checked; kept on ``ScimUser``."""

    external_id: str | None
    external_id_asserted: bool
    given_name: str | None
    family_name: str | None
    parts_asserted: bool = True

    def keep(self, link: ScimUser, name: str | None) -> None:
        """Write them on ``link``; ``name`` is the full name the parts went into."""
        if self.external_id_asserted:
            link.external_id = self.external_id
        if self.parts_asserted:
            link.given_name, link.family_name = self.given_name, self.family_name
            link.name_parts_of = name if (self.given_name or self.family_name) else None


def client_fields(user: User, *, before: User | None = None) -> ClientFields:
    """``user``'s externalId (asserted or not, as for :func:`person_fields`) and name parts; a PATCH
    (``before``) keeps the parts it does not change, and drops them when it changes only
    ``name.formatted``, since they were of the old name.

    :raise errors.ValidationError: one of them is too long, or holds NUL or a line break.
    """
    given, family = _parts(user.name)
    parts_asserted = True
    if before is not None and (given, family) == _parts(before.name):
        formatted_changed = (user.name.formatted if user.name else None) != (
            before.name.formatted if before.name else None)
        parts_asserted = formatted_changed
        given = family = None
    errors: dict[str, str] = {}
    external_id = inputs.collect(errors, inputs.read_text, user.external_id, "externalId",
                                 max_length=MAX_EXTERNAL_ID, required=False, single_line=True)
    given = inputs.collect(errors, inputs.read_text, given, "name.givenName", max_length=MAX_NAME_PART,
                           required=False, single_line=True)
    family = inputs.collect(errors, inputs.read_text, family, "name.familyName", max_length=MAX_NAME_PART,
                            required=False, single_line=True)
    if errors:
        raise ValidationError("Some fields are not valid.", errors)
    return ClientFields(external_id, _asserted(user, "external_id", before is not None), given, family,
                        parts_asserted)
