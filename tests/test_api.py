"""JSON API v1 base: tokens, departments, employees, errors, OpenAPI."""

import pytest
import sqlalchemy as sa

from people.models import Department, Person


@pytest.fixture
def hr_headers(factory, api_token):
    factory.person("hr@example.com", role="hr_admin")
    return api_token("hr@example.com")


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_token_for_good_credentials(client, factory):
    factory.person("a@example.com")
    response = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "correct horse battery"})
    assert response.status_code == 201
    assert len(response.get_json()["token"]) >= 40


def test_token_refused_for_bad_credentials(client, factory):
    factory.person("a@example.com")
    response = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_token_request_names_missing_fields(client):
    response = client.post("/api/v1/auth/token", json={"email": "a@example.com"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"password"}


def test_body_that_is_not_a_json_object_is_400(client, hr_headers):
    for body in ("[1, 2]", "not json", '"text"'):
        response = client.post("/api/v1/departments", data=body, headers={**hr_headers,
                                                                          "Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["error"]["message"] == "The body must be a JSON object."


def test_garbage_token_is_401(client):
    response = client.get("/api/v1/employees", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deactivated_person_stops_working(client, factory, api_token, db):
    hr = factory.person("hr@example.com", role="hr_admin")
    headers = api_token("hr@example.com")
    assert client.get("/api/v1/employees", headers=headers).status_code == 200
    hr.active = False
    db.session.commit()
    assert client.get("/api/v1/employees", headers=headers).status_code == 401


def test_create_and_list_departments(client, hr_headers):
    parent = client.post("/api/v1/departments", json={"name": "Engineering"}, headers=hr_headers)
    assert parent.status_code == 201
    child = client.post("/api/v1/departments", json={"name": "Platform", "parent_id": parent.get_json()["id"]},
                        headers=hr_headers)
    assert child.get_json() == {"id": child.get_json()["id"], "name": "Platform",
                                "parent_id": parent.get_json()["id"]}
    items = client.get("/api/v1/departments", headers=hr_headers).get_json()["items"]
    assert [d["name"] for d in items] == ["Engineering", "Platform"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"), ({"name": ""}, "name"), ({"name": 5}, "name"), ({"name": "X", "parent_id": 999}, "parent_id"),
    ({"name": "X", "parent_id": "1"}, "parent_id"), ({"name": "x" * 121}, "name"),
])
def test_bad_department_is_422_naming_the_field(client, hr_headers, db, body, field):
    response = client.post("/api/v1/departments", json=body, headers=hr_headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(db, Department) == 0


def test_upsert_creates_then_updates_an_employee(client, hr_headers, db):
    dept = client.post("/api/v1/departments", json={"name": "Sales"}, headers=hr_headers).get_json()
    body = {"name": "Sam Seller", "email": "Sam@Example.com", "department_id": dept["id"],
            "manager_email": "hr@example.com", "role": "employee", "kind": "employee", "hired_on": "2023-02-01"}
    created = client.post("/api/v1/employees", json=body, headers=hr_headers)
    assert created.status_code == 201
    assert created.get_json()["email"] == "sam@example.com"
    assert created.get_json()["manager_email"] == "hr@example.com"
    updated = client.post("/api/v1/employees", json={**body, "name": "Samuel Seller", "kind": "contractor"},
                          headers=hr_headers)
    assert updated.status_code == 200
    assert (updated.get_json()["name"], updated.get_json()["kind"]) == ("Samuel Seller", "contractor")
    assert count(db, Person) == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X"}, "email"),
    ({"email": "x@example.com"}, "name"),
    ({"name": "X", "email": "not-an-email"}, "email"),
    ({"name": "X", "email": "x@example.com", "manager_email": "ghost@example.com"}, "manager_email"),
    ({"name": "X", "email": "x@example.com", "manager_email": "x@example.com"}, "manager_email"),
    ({"name": "X", "email": "x@example.com", "role": "root"}, "role"),
    ({"name": "X", "email": "x@example.com", "kind": "robot"}, "kind"),
    ({"name": "X", "email": "x@example.com", "hired_on": "yesterday"}, "hired_on"),
    ({"name": "X", "email": "x@example.com", "department_id": 42}, "department_id"),
    ({"name": "X", "email": "x@example.com", "department_id": True}, "department_id"),
    ({"name": "X", "email": "x@example.com", "timezone": "Nowhere/Land"}, "timezone"),
    ({"name": "X", "email": "x@example.com", "locale": "fr"}, "locale"),
    ({"name": "X", "email": "x@example.com", "salary": 1}, "salary"),
    ({"name": ["X"], "email": "x@example.com"}, "name"),
])
def test_bad_employee_is_422_naming_the_field(client, hr_headers, db, body, field):
    before = count(db, Person)
    response = client.post("/api/v1/employees", json=body, headers=hr_headers)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert count(db, Person) == before


def test_manager_cycle_through_the_api_is_refused(client, hr_headers, factory, db):
    boss = factory.person("boss@example.com")
    factory.person("low@example.com", manager=boss)
    response = client.post("/api/v1/employees", json={"name": "Boss", "email": "boss@example.com",
                                                      "manager_email": "low@example.com"}, headers=hr_headers)
    assert response.status_code == 422
    assert "manager_email" in response.get_json()["error"]["fields"]
    db.session.refresh(boss)
    assert boss.manager_id is None


def test_employees_are_paginated(client, hr_headers, factory):
    for i in range(5):
        factory.person(f"p{i}@example.com")
    page = client.get("/api/v1/employees?page=2&per_page=2", headers=hr_headers).get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 6, 3)
    assert [p["email"] for p in page["items"]] == ["p1@example.com", "p2@example.com"]


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=500", "per_page=-1"])
def test_bad_pagination_is_422(client, hr_headers, query):
    response = client.get(f"/api/v1/employees?{query}", headers=hr_headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) <= {"page", "per_page"}


def test_wrong_method_is_json_405(client, hr_headers):
    response = client.delete("/api/v1/employees", headers=hr_headers)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in described, (path, method)
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"]


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
