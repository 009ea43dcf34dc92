"""Whatever a SCIM client sends, /scim/v2 answers in SCIM (application/scim+json), never with a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from people.models import Person
from scim import tokens

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = {"schemas": [CORE, ENTERPRISE], "userName": "a@example.com", "name": {"formatted": "A"}}


def ops(*operations) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


BODIES = [
    None, "null", "1", '"x"', "[]", "{}", '{"schemas": 5}', '{"schemas": []}',
    {"schemas": [CORE], "userName": 5}, {**USER, "name": "text"}, {**USER, "name": {"formatted": 5}},
    {**USER, "emails": "x"}, {**USER, ENTERPRISE: "x"}, {**USER, ENTERPRISE: {"manager": ["x"]}},
    {**USER, ENTERPRISE: {"manager": {"value": {"a": 1}}}}, {**USER, ENTERPRISE: {"department": "x" * 200}},
    {**USER, "name": {"formatted": "A\nB"}}, {**USER, "locale": 5, "timezone": "x" * 500}, {**USER, "id": "77"},
    {**USER, "userName": "a" * 300 + "@example.com"},
    ops(), {"schemas": [PATCH], "Operations": None}, ops("x"), ops({"op": "replace"}),
    ops({"op": "replace", "path": "userName", "value": None}), ops({"op": "remove", "path": "userName"}),
    ops({"op": "remove", "path": "name"}), ops({"op": "replace", "path": "id", "value": "9"}),
    ops({"op": "replace", "path": "meta.created", "value": "x"}),
    ops({"op": "add", "path": "emails", "value": [{"value": "b@example.com", "primary": True},
                                                   {"value": "c@example.com", "primary": True}]}),
    ops({"op": "replace", "path": "active", "value": "maybe"}),
    ops({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": [1]}),
    ops({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "x"}}),
    ops({"op": "replace", "value": "x"}), ops({"op": "replace", "value": {f"{ENTERPRISE}:manager": 5}}),
    ops({"op": "replace", "path": "groups", "value": []}), ops({"op": "replace", "path": "password", "value": "x"}),
]

QUERIES = ["?count=abc", "?startIndex=abc", "?count=-1", "?startIndex=-5", "?count=99999999999999999999",
           "?attributes=!!", "?attributes=userName&excludedAttributes=name", "?filter=" + "(" * 500,
           "?filter=userName eq 5", "?filter=id eq 5", "?filter=userName pr", '?filter=emails[value eq "x"]',
           "?sortBy=userName", '?filter=userName eq "a" and id eq "1"']


@pytest.fixture
def send(db, client, factory):
    raw = tokens.create_token(datetime.now(UTC))[1]
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/scim+json"}
    ada = factory.person("ada@example.com")

    def request(method: str, path: str, body=None):
        data = body if body is None or isinstance(body, str) else json.dumps(body)
        return client.open(f"/scim/v2{path.format(ada=ada.id)}", method=method, headers=headers, data=data)

    return request


@pytest.mark.parametrize(("method", "path"), [("POST", "/Users"), ("PUT", "/Users/{ada}"),
                                              ("PATCH", "/Users/{ada}"), ("POST", "/Users/.search")])
def test_no_body_is_answered_with_a_crash(send, method, path):
    for body in BODIES:
        response = send(method, path, body)
        assert response.status_code < 500 and response.mimetype == "application/scim+json", (body, response.data)


@pytest.mark.parametrize("path", ["/Users", "/Users/{ada}"])
def test_no_query_is_answered_with_a_crash(send, path):
    for query in QUERIES:
        response = send("GET", path + query)
        assert response.status_code < 500 and response.mimetype == "application/scim+json", (query, response.data)


@pytest.mark.parametrize("path", ["/Users", "/Users/.search", "/.search", "/Groups"])
def test_a_nul_byte_in_a_form_or_query_is_refused_before_the_view(db, client, path):
    raw = tokens.create_token(datetime.now(UTC))[1]
    headers = {"Authorization": f"Bearer {raw}"}
    for response in (client.post(f"/scim/v2{path}", headers=headers, data={"userName": "a\x00b"}),
                     client.get(f"/scim/v2{path}?filter=a%00b", headers=headers)):
        assert response.status_code == 400 and response.mimetype == "application/scim+json"
        assert response.get_json(force=True)["scimType"] == "invalidValue"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
