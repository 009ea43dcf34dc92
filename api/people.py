"""API v1: bearer tokens, departments and people (employees), for HR's tools and imports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import g, jsonify, request, url_for
from flask_babel import gettext as _
from pydantic import Field

import audit
import inputs
from api import bp, core
from api.spec import Input, Int, Output, Query, operation, query_int, responses
from errors import Forbidden, ValidationError
from extensions import db
from people import credentials, directory, signin
from people.models import CredentialLink, Person
from people.models import Department as DepartmentRow
from people.twofactor import services as twofactor

ROLES = Literal["employee", "hr_admin"]
KINDS = Literal["employee", "contractor"]
LOCALES = Literal["en", "it"]


class TokenInput(Input):
    email: str
    password: str


class Token(Output):
    token: str
    token_type: Literal["Bearer"]


class DepartmentInput(Input):
    name: Annotated[str, Field(max_length=120)]
    parent_id: Int | None = None


class Department(Output):
    id: int
    name: str
    parent_id: int | None


class DepartmentList(Output):
    items: list[Department]


class EmployeeInput(Input):
    email: str = Field(json_schema_extra={"format": "email"})
    name: Annotated[str, Field(max_length=120)]
    department_id: Int | None = None
    department: str | None = Field(None, description="Department name, created if missing.")
    manager_email: str | None = Field(None, json_schema_extra={"format": "email"})
    role: ROLES = None
    kind: KINDS = None
    hired_on: str | None = Field(None, json_schema_extra={"format": "date"})
    locale: LOCALES | None = None
    timezone: str | None = None
    active: bool = None
    invite: bool = Field(False, description="Send an invitation to sign in, if the person cannot sign in yet.")


SIGN_IN = Literal["not_invited", "invited", "accepted", "expired", "password"]


class Employee(Output):
    id: int
    email: str = Field(json_schema_extra={"format": "email"})
    name: str
    department_id: int | None
    manager_email: str | None
    role: ROLES
    kind: KINDS
    active: bool
    hired_on: str | None = Field(json_schema_extra={"format": "date"})
    locale: LOCALES | None
    timezone: str
    sign_in: SIGN_IN = Field(description="not_invited, invited (a link is open), accepted, expired, "
                                          "or password (set another way)")


class PageQuery(Query):
    page: query_int(1) = 1  # type: ignore[valid-type]
    per_page: query_int(1, 200) = 50  # type: ignore[valid-type]


class Page(Output):
    page: int
    per_page: int
    total: int
    pages: int


class EmployeePage(Page):
    items: list[Employee]


def department_json(dept: DepartmentRow) -> dict:
    return {"id": dept.id, "name": dept.name, "parent_id": dept.parent_id}


def employee_json(person: Person, invitation: CredentialLink | None = None, *, now: datetime) -> dict:
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "department_id": person.department_id,
        "manager_email": person.manager.email if person.manager else None,
        "role": person.role,
        "kind": person.kind,
        "active": person.active,
        "hired_on": person.hired_on.isoformat() if person.hired_on else None,
        "locale": person.locale,
        "timezone": person.timezone,
        "sign_in": credentials.sign_in_status(person, invitation, now),
    }


def _employee_json(person: Person) -> dict:
    return employee_json(person, credentials.latest_invitations([person.id]).get(person.id), now=datetime.now(UTC))


@bp.post("/auth/token")
@operation(json=TokenInput, public=True, responses=responses({201: Token}, 400, 401, 403, 429))
def auth_token():
    """Exchange e-mail and password for a bearer token"""
    data = core.json_body()
    now = datetime.now(UTC)
    person = signin.authenticate(data["email"], data["password"], request.remote_addr, now)
    if person is None:
        raise core.Unauthorized(_("E-mail or password is not correct."))
    if not signin.password_login_allowed(person):
        raise Forbidden(_("Only HR admins may sign in with a password here; others sign in with single sign-on."))
    if person.has_two_factor or twofactor.required_for(person):
        # A password alone must not get round the second factor: such a token is made on the Settings page.
        raise Forbidden(_("This account signs in with two factors; make an API token on your Settings page "
                          "instead."))
    audit.record("signin.api_token", actor=person, target=person, summary=person.email, now=now,
                 remote_addr=request.remote_addr)
    return jsonify({"token": signin.issue_api_token(person, now), "token_type": "Bearer"}), 201


@bp.get("/departments")
@core.token_required("hr_admin")
@operation(responses=responses({200: DepartmentList}, 401, 403))
def departments_list():
    """List departments (hr_admin)"""
    departments = db.session.scalars(sa.select(DepartmentRow).order_by(DepartmentRow.id))
    return jsonify({"items": [department_json(d) for d in departments]})


@bp.post("/departments")
@core.token_required("hr_admin")
@operation(json=DepartmentInput, responses=responses({201: Department}, 400, 401, 403))
def departments_create():
    """Create a department (hr_admin)"""
    data = core.json_body()
    dept = directory.create_department(data.get("name"), data.get("parent_id"))
    return jsonify(department_json(dept)), 201


@bp.get("/employees")
@core.token_required("hr_admin")
@operation(query=PageQuery, responses=responses({200: EmployeePage}, 401, 403))
def employees_list():
    """List people, paginated (hr_admin)"""
    page, per_page = core.page_args()
    stmt = sa.select(Person).order_by(Person.id)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    invitations, now = credentials.latest_invitations(p.id for p in pagination.items), datetime.now(UTC)
    return jsonify(core.paginated(pagination, [employee_json(p, invitations.get(p.id), now=now)
                                               for p in pagination.items]))


@bp.post("/employees")
@core.token_required("hr_admin")
@operation(json=EmployeeInput, responses=responses({200: Employee, 201: Employee}, 400, 401, 403,
                                                   d200="Updated", d201="Created"))
def employees_upsert():
    """Create or update a person by e-mail (hr_admin); with `"invite": true`, also invite them to sign in
    if they cannot yet (an active person with no password and no open invitation)"""
    data = dict(core.json_body())
    invite = data.pop("invite", False)
    if not isinstance(invite, bool):
        raise ValidationError(_("Some fields are not valid."), {"invite": _("Must be true or false.")})
    existed = bool(directory.people_by_email([inputs.email_key(data["email"])]))
    (person,) = directory.upsert_people([data], by=g.api_user)
    if invite:
        credentials.invite_many([person], by=g.api_user, now=datetime.now(UTC))
    response = jsonify(_employee_json(person))
    response.status_code = 200 if existed else 201
    if not existed:
        response.headers["Location"] = url_for("api.employees_list", _external=False)
    return response


@bp.post("/employees/<int:person_id>/invite")
@core.token_required("hr_admin")
@operation(responses=responses({200: Employee}, 401, 403, 404, 409))
def employee_invite(person_id: int):
    """Send a person an invitation to sign in, or send it again (hr_admin)

    The e-mail, in the person's language, carries a link that sets their password: it works once,
    for 7 days, and replaces any earlier link. 409 if the person is inactive or can sign in already.
    """
    person = directory.get_person(person_id)
    credentials.invite(person, by=g.api_user, now=datetime.now(UTC))
    db.session.commit()
    return jsonify(_employee_json(person))
