"""API v1: bearer tokens, departments and people (employees), for HR's tools and imports."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_babel import gettext as _

from api import bp, core
from errors import ValidationError
from extensions import db
from people import directory, signin
from people.models import Department, Person


def department_json(dept: Department) -> dict:
    return {"id": dept.id, "name": dept.name, "parent_id": dept.parent_id}


def employee_json(person: Person) -> dict:
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
    }


@bp.post("/auth/token")
def auth_token():
    data = core.json_body()
    core.require_fields(data, "email", "password")
    if not isinstance(data["email"], str) or not isinstance(data["password"], str):
        raise ValidationError(_("Some fields are not valid."), {
            k: _("Must be text.") for k in ("email", "password") if not isinstance(data[k], str)})
    now = datetime.now(UTC)
    person = signin.authenticate(data["email"], data["password"], request.remote_addr, now)
    if person is None:
        raise core.Unauthorized(_("E-mail or password is not correct."))
    return jsonify({"token": signin.issue_api_token(person, now), "token_type": "Bearer"}), 201


@bp.get("/departments")
@core.token_required("hr_admin")
def departments_list():
    departments = db.session.scalars(sa.select(Department).order_by(Department.id))
    return jsonify({"items": [department_json(d) for d in departments]})


@bp.post("/departments")
@core.token_required("hr_admin")
def departments_create():
    data = core.json_body()
    dept = directory.create_department(data.get("name"), data.get("parent_id"))
    return jsonify(department_json(dept)), 201


@bp.get("/employees")
@core.token_required("hr_admin")
def employees_list():
    page, per_page = core.page_args()
    stmt = sa.select(Person).order_by(Person.id)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return jsonify(core.paginated(pagination, [employee_json(p) for p in pagination.items]))


@bp.post("/employees")
@core.token_required("hr_admin")
def employees_upsert():
    data = core.json_body()
    core.require_fields(data, "email", "name")
    unknown = sorted(set(data) - set(directory.PERSON_FIELDS))
    if unknown:
        raise ValidationError(_("Some fields are not valid."), {k: _("Unknown field.") for k in unknown})
    existed = isinstance(data.get("email"), str) and bool(directory.people_by_email([data["email"].strip().lower()]))
    (person,) = directory.upsert_people([data])
    response = jsonify(employee_json(person))
    response.status_code = 200 if existed else 201
    if not existed:
        response.headers["Location"] = url_for("api.employees_list", _external=False)
    return response
