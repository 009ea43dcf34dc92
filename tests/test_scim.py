"""SCIM 2.0 provisioning at /scim/v2: Users, discovery, errors, tokens, and what deactivation means."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from people.models import Department, Person
from scim import tokens
from surveys import building, rounds
from surveys.models import Invitation
from tests.conftest import PASSWORD

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA = "application/scim+json"


@pytest.fixture
def token(db):
    return tokens.create_token(datetime.now(UTC))[1]


@pytest.fixture
def scim(client, token):
    """Send a SCIM request with the token; returns (status, parsed body or None)."""

    def send(method: str, path: str, body=None, *, bearer: str | None = None, raw: str | None = None):
        headers = {"Authorization": f"Bearer {bearer or token}", "Content-Type": MEDIA}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = client.open(f"/scim/v2{path}", method=method, headers=headers, data=data)
        if response.status_code != 204:
            assert response.mimetype == MEDIA, response.data[:300]
        return response.status_code, (response.get_json(force=True) if response.data else None)

    return send


def user_body(email="ada@example.com", **extra):
    return {"schemas": [CORE, ENTERPRISE], "userName": email,
            "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"},
            "active": True, **extra}


def person(db, email) -> Person:
    db.session.expire_all()
    return db.session.scalar(sa.select(Person).where(Person.email == email))


def actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("scim.user.%"))
                                   .order_by(AuditEvent.id)))


# --- Users -----------------------------------------------------------------------------------

def test_creating_a_user_adds_a_person_with_their_department_and_manager(db, scim, factory):
    boss = factory.person("boss@example.com", name="Boss")
    status, body = scim("POST", "/Users", user_body(
        locale="it-IT", timezone="Europe/Rome",
        **{ENTERPRISE: {"department": "Research", "manager": {"value": str(boss.id)}}}))
    assert status == 201, body
    ada = person(db, "ada@example.com")
    assert (ada.name, ada.locale, ada.timezone, ada.active) == ("Ada Lovelace", "it", "Europe/Rome", True)
    assert ada.department.name == "Research" and ada.manager_id == boss.id
    assert body["id"] == str(ada.id) and body["userName"] == "ada@example.com"
    assert body["name"] == {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"}
    assert body["emails"] == [{"value": "ada@example.com", "type": "work", "primary": True}]
    assert body[ENTERPRISE]["department"] == "Research"
    assert body[ENTERPRISE]["manager"]["value"] == str(boss.id)
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{ada.id}")
    assert actions(db) == ["scim.user.created"]


def test_a_department_is_found_by_name_whatever_the_case(db, scim, factory):
    research = factory.department("Research")
    assert scim("POST", "/Users", user_body(**{ENTERPRISE: {"department": "research"}}))[0] == 201
    assert person(db, "ada@example.com").department_id == research.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Department)) == 1


def test_the_manager_may_be_named_by_e_mail(db, scim, factory):
    boss = factory.person("boss@example.com")
    assert scim("POST", "/Users", user_body(**{ENTERPRISE: {"manager": {"value": "Boss@Example.com"}}}))[0] == 201
    assert person(db, "ada@example.com").manager_id == boss.id


def test_getting_a_user(scim, factory):
    ada = factory.person("ada@example.com", name="Ada Lovelace")
    status, body = scim("GET", f"/Users/{ada.id}")
    assert status == 200 and body["userName"] == "ada@example.com" and body["active"] is True
    assert body["name"] == {"formatted": "Ada Lovelace"}
    assert scim("GET", "/Users/999999")[0] == 404
    assert scim("GET", '/Users?filter=externalId eq "a\\u0000b"')[1]["totalResults"] == 0
    for nonsense in ("not-a-number", "²", "9" * 40, "0", "-1"):
        assert scim("GET", f"/Users/{nonsense}")[0] == 404
        assert scim("GET", f'/Users?filter=id eq "{nonsense}"')[1]["totalResults"] == 0


def test_filtering_by_user_name_ignores_case(scim, factory):
    factory.person("ada@example.com")
    factory.person("bob@example.com")
    status, body = scim("GET", '/Users?filter=userName eq "ADA@example.com"')
    assert status == 200
    assert (body["totalResults"], [r["userName"] for r in body["Resources"]]) == (1, ["ada@example.com"])
    status, body = scim("GET", '/Users?filter=userName eq "nobody@example.com"')
    assert (status, body["totalResults"], body.get("Resources", [])) == (200, 0, [])


def test_listing_is_paginated_with_a_one_based_start_index(scim, factory):
    emails = [factory.person(f"p{i}@example.com").email for i in range(5)]
    status, body = scim("GET", "/Users?startIndex=2&count=2")
    assert status == 200
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in body["Resources"]] == emails[1:3]
    body = scim("GET", "/Users?startIndex=5&count=10")[1]
    assert [r["userName"] for r in body["Resources"]] == emails[4:]
    body = scim("GET", "/Users?count=0")[1]
    assert (body["totalResults"], body.get("Resources", [])) == (5, [])


def test_searching_with_a_post(scim, factory):
    factory.person("ada@example.com")
    factory.person("bob@example.com")
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
              "filter": 'userName eq "bob@example.com"', "attributes": ["userName"]}
    for path in ("/Users/.search", "/.search"):
        status, body = scim("POST", path, search)
        assert (status, body["totalResults"]) == (200, 1)
        assert body["Resources"][0]["userName"] == "bob@example.com" and "name" not in body["Resources"][0]


def test_removing_the_time_zone_gives_the_company_zone(app, db, scim, factory):
    ada = factory.person("ada@example.com", timezone="Asia/Tokyo")
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": "timezone"}]})
    assert (status, body["timezone"]) == (200, app.config["POLSO_DEFAULT_TIMEZONE"])


def test_an_unsupported_filter_is_refused(scim):
    status, body = scim("GET", '/Users?filter=title sw "x"')
    assert (status, body["scimType"]) == (400, "invalidFilter")
    status, body = scim("GET", "/Users?filter=userName eq")
    assert (status, body["scimType"]) == (400, "invalidFilter")


def test_replacing_a_user(db, scim, factory):
    ada = factory.person("ada@example.com", name="Ada")
    status, body = scim("PUT", f"/Users/{ada.id}", user_body(
        "ada.lovelace@example.com", name={"givenName": "Augusta", "familyName": "King"},
        **{ENTERPRISE: {"department": "Maths"}}))
    assert status == 200, body
    ada = person(db, "ada.lovelace@example.com")
    assert (ada.name, ada.department.name) == ("Augusta King", "Maths")
    assert body["userName"] == "ada.lovelace@example.com"
    assert body["name"] == {"formatted": "Augusta King", "givenName": "Augusta", "familyName": "King"}
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "scim.user.updated"))
    assert event.actor_id is None and event.target_id == ada.id
    assert event.summary == "ada@example.com (SCIM): userName, name, department"


def test_a_put_that_leaves_out_department_and_manager_keeps_them(db, scim, factory):
    boss = factory.person("boss@example.com")
    ada = factory.person("ada@example.com", manager=boss, department=factory.department("Research"))
    body = user_body()
    del body["schemas"][1]
    assert scim("PUT", f"/Users/{ada.id}", body)[0] == 200
    ada = person(db, "ada@example.com")
    assert (ada.manager_id, ada.department.name) == (boss.id, "Research")
    body = user_body(**{ENTERPRISE: {"department": None, "manager": None}})
    assert scim("PUT", f"/Users/{ada.id}", body)[0] == 200
    ada = person(db, "ada@example.com")
    assert (ada.manager_id, ada.department_id) == (None, None)


def test_patch_adds_replaces_and_removes(db, scim, factory):
    boss = factory.person("boss@example.com")
    ada = factory.person("ada@example.com", name="Ada Lovelace", locale="en")
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Engines"},
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": str(boss.id)}},
        {"op": "replace", "path": "name.formatted", "value": "Augusta Ada King"},
        {"op": "remove", "path": "locale"},
    ]})
    assert status == 200, body
    ada = person(db, "ada@example.com")
    assert (ada.name, ada.locale, ada.department.name, ada.manager_id) == ("Augusta Ada King", None, "Engines",
                                                                             boss.id)
    assert body["name"]["formatted"] == "Augusta Ada King" and "locale" not in body
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f"{ENTERPRISE}:manager"}]})
    assert status == 200 and person(db, "ada@example.com").manager_id is None


def test_patching_one_part_of_a_name_keeps_the_others(db, scim, factory):
    ada = factory.person("ada@example.com", name="Ada Lovelace")
    assert scim("GET", f"/Users/{ada.id}")[1]["name"] == {"formatted": "Ada Lovelace"}  # Polso guesses no parts
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"}]})
    assert body["name"] == {"formatted": "Augusta Lovelace", "givenName": "Augusta", "familyName": "Lovelace"}
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "name.formatted", "value": "Countess of Lovelace"}]})
    assert status == 200 and body["name"] == {"formatted": "Countess of Lovelace"}  # the parts were of the old name
    bob = factory.person("bob@example.com", name="Bob Smith")
    body = scim("PATCH", f"/Users/{bob.id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "locale", "value": "it"}]})[1]
    assert body["name"] == {"formatted": "Bob Smith"}  # a patch of something else stores no guess


def test_removing_the_manager_with_a_value_as_entra_id_may_send_it(db, scim, factory):
    boss = factory.person("boss@example.com")
    ada = factory.person("ada@example.com", manager=boss)
    status = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": f"{ENTERPRISE}:manager", "value": [{"value": str(boss.id)}]}]})[0]
    assert status == 200 and person(db, "ada@example.com").manager_id is None


def test_a_patch_that_breaks_a_rule_changes_nothing(db, scim, factory):
    ada = factory.person("ada@example.com", name="Ada")
    bob = factory.person("bob@example.com", manager=ada)
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.formatted", "value": "Someone Else"},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": str(bob.id)}}]})
    assert (status, body["scimType"]) == (400, "invalidValue")
    assert "cycle" in body["detail"]
    assert (person(db, "ada@example.com").name, person(db, "ada@example.com").manager_id) == ("Ada", None)
    assert actions(db) == []


def test_patch_active_false_deactivates(db, scim, factory):
    ada = factory.person("ada@example.com")
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert (status, body["active"]) == (200, False)
    assert person(db, "ada@example.com").active is False
    assert actions(db) == ["scim.user.deactivated"]
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": True}}]})
    assert (status, body["active"]) == (200, True)
    assert actions(db) == ["scim.user.deactivated", "scim.user.reactivated"]


def test_delete_deactivates_and_then_answers_404(db, scim, factory):
    ada = factory.person("ada@example.com")
    assert scim("DELETE", f"/Users/{ada.id}") == (204, None)
    assert person(db, "ada@example.com").active is False  # still in Polso, with their history
    assert scim("GET", f"/Users/{ada.id}")[0] == 404
    assert scim("DELETE", f"/Users/{ada.id}")[0] == 404
    assert scim("GET", '/Users?filter=userName eq "ada@example.com"')[1]["totalResults"] == 0
    status, body = scim("POST", "/Users", user_body())
    assert (status, body["scimType"]) == (409, "uniqueness")
    assert actions(db) == ["scim.user.deleted"]


def test_scim_needs_no_csrf_token(app, db, scim):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: pages' forms need one, SCIM clients have none
    assert scim("POST", "/Users", user_body())[0] == 201
    assert scim("PATCH", f"/Users/{person(db, 'ada@example.com').id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})[0] == 200


# --- What Microsoft Entra ID and Okta send ------------------------------------------------------

def test_entra_id_provisioning(db, scim, factory):
    boss = factory.person("boss@contoso.com")
    # Entra ID's create, as its SCIM validator sends it (meta and an empty roles list included).
    status, body = scim("POST", "/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_ab6490ee@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
    })
    assert status == 201, body
    user_id = body["id"]
    assert body["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    status, body = scim("GET", '/Users?filter=userName eq "Test_User_ab6490ee@contoso.com"')
    assert (status, body["totalResults"], body["Resources"][0]["id"]) == (200, 1, user_id)
    status, body = scim("GET", '/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')
    assert body["Resources"][0]["id"] == user_id
    # Capitalised ops, a filtered path, a manager as a bare id, a no-path "Replace" with a value object.
    status, body = scim("PATCH", f"/Users/{user_id}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             "value": str(boss.id)},
        ],
    })
    assert status == 200, body
    entra = person(db, "test_user_ab6490ee@contoso.com")  # userName decides the e-mail
    assert (entra.name, entra.manager_id) == ("givenName updatedFamilyName", boss.id)
    status, body = scim("PATCH", f"/Users/{user_id}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"active": False}}],
    })
    assert (status, body["active"]) == (200, False)
    assert person(db, "test_user_ab6490ee@contoso.com").active is False
    status, body = scim("PATCH", f"/Users/{user_id}", {
        "Operations": [{"op": "Replace", "path": "active", "value": "True"}],
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    })
    assert (status, body["active"]) == (200, True)


def test_okta_provisioning(db, scim):
    status, body = scim("GET",
                        "/Users?filter=userName%20eq%20%22test.user%40okta.example.com%22&startIndex=1&count=100")
    assert (status, body["totalResults"]) == (200, 0)
    status, body = scim("POST", "/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.example.com",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.example.com", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    })
    assert status == 201, body
    user_id = body["id"]
    okta = person(db, "test.user@okta.example.com")
    assert (okta.name, okta.locale, okta.active) == ("Test User", "en", True)
    # Okta's deactivation: a PUT of the whole user with active false.
    status, body = scim("PUT", f"/Users/{user_id}", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user_id,
        "userName": "test.user@okta.example.com",
        "name": {"givenName": "Another", "middleName": "Ptest", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.example.com", "type": "work"}],
        "displayName": "Another User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": False,
        "meta": {"resourceType": "User"},
    })
    assert (status, body["active"]) == (200, False), body
    okta = person(db, "test.user@okta.example.com")
    assert (okta.name, okta.active) == ("Another User", False)
    assert actions(db) == ["scim.user.created", "scim.user.updated", "scim.user.deactivated"]
    # Okta's other way: PATCH with a value object.
    status, body = scim("PATCH", f"/Users/{user_id}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": True}}],
    })
    assert (status, body["active"]) == (200, True)


# --- Deactivation means what it says ----------------------------------------------------------

def test_a_person_deactivated_by_scim_cannot_sign_in(db, client, scim, factory):
    ada = factory.person("ada@example.com")
    scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    response = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code != 302 or "/login" in response.headers.get("Location", "")
    assert client.get("/settings").status_code == 302  # not signed in
    response = client.post("/api/v1/auth/token", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 401


def test_deactivating_by_scim_ends_the_sessions_a_person_has(db, client, scim, auth, factory):
    ada = factory.person("ada@example.com")
    assert auth.login("ada@example.com").status_code == 302
    assert client.get("/settings").status_code == 200
    scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    response = client.get("/settings")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_person_deactivated_by_scim_is_not_invited_to_a_new_round(db, scim, factory):
    people = [factory.person(f"p{i}@example.com") for i in range(6)]
    scim("PUT", f"/Users/{people[0].id}", user_body(people[0].email, active=False))
    now = datetime.now(UTC)
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [{"library_key": "enps"}]},
                                    now)
    round_ = rounds.open_round_now(survey, now)
    invited = set(db.session.scalars(sa.select(Invitation.person_id).where(Invitation.round_id == round_.id)))
    assert invited == {p.id for p in people[1:]}


# --- Refusals ----------------------------------------------------------------------------------

def test_requests_without_a_valid_token_are_refused(scim, client):
    assert scim("GET", "/Users", bearer="not-a-token")[0] == 401
    response = client.get("/scim/v2/Users")
    assert response.status_code == 401 and response.mimetype == MEDIA
    assert response.get_json(force=True)["schemas"] == [ERROR]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(db, scim):
    token, raw = tokens.create_token(datetime.now(UTC))
    assert scim("GET", "/ServiceProviderConfig", bearer=raw)[0] == 200
    tokens.revoke_token(token.id, datetime.now(UTC))
    status, body = scim("GET", "/ServiceProviderConfig", bearer=raw)
    assert (status, body["status"]) == (401, "401")


@pytest.mark.parametrize(("body", "scim_type"), [
    ({"schemas": [CORE], "name": {"formatted": "No User Name"}}, "invalidValue"),
    ({"schemas": [CORE], "userName": "not an e-mail", "name": {"formatted": "X"}}, "invalidValue"),
    ({"schemas": [CORE], "userName": "x@example.com"}, "invalidValue"),  # Polso needs a name
    ({"schemas": [CORE], "userName": "x@example.com", "name": {"formatted": "X"}, "timezone": "Mars/Base"},
     "invalidValue"),
    ({"schemas": [CORE], "userName": "x@example.com", "name": {"formatted": "X"}, "active": "perhaps"},
     "invalidValue"),
    ({"schemas": [CORE, ENTERPRISE], "userName": "x@example.com", "name": {"formatted": "X"},
      ENTERPRISE: {"manager": {"value": "424242"}}}, "invalidValue"),
    ({"schemas": [CORE, ENTERPRISE], "userName": "x@example.com", "name": {"formatted": "X"},
      ENTERPRISE: {"manager": {"value": "9" * 40}}}, "invalidValue"),
    ({"schemas": [CORE, ENTERPRISE], "userName": "x@example.com", "name": {"formatted": "X"},
      ENTERPRISE: {"manager": {"value": "²"}}}, "invalidValue"),
    ({"schemas": [CORE], "userName": "x@example.com", "name": {"formatted": "X"}, "externalId": "a\u0000b"},
     "invalidValue"),
    ({"schemas": [CORE], "userName": "x@example.com", "name": {"givenName": "X" * 121}}, "invalidValue"),
])
def test_bad_bodies_are_refused_with_a_scim_type(db, scim, body, scim_type):
    status, answer = scim("POST", "/Users", body)
    assert (status, answer["scimType"], answer["schemas"]) == (400, scim_type, [ERROR]), answer
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_invalid_syntax(scim, raw):
    status, body = scim("POST", "/Users", raw=raw)
    assert (status, body["scimType"]) == (400, "invalidSyntax")


def test_a_taken_user_name_is_a_uniqueness_conflict(scim, factory):
    factory.person("ada@example.com")
    bob = factory.person("bob@example.com")
    status, body = scim("POST", "/Users", user_body("ADA@example.com"))
    assert (status, body["scimType"]) == (409, "uniqueness")
    status, body = scim("PUT", f"/Users/{bob.id}", user_body("ada@example.com"))
    assert (status, body["scimType"]) == (409, "uniqueness")


def test_a_bad_patch_is_refused(scim, factory):
    ada = factory.person("ada@example.com")
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [{"op": "move"}]})
    assert (status, body["scimType"]) == (400, "invalidValue")
    status, body = scim("PATCH", f"/Users/{ada.id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "no such attribute!", "value": 1}]})
    assert status == 400 and body["scimType"] in ("invalidPath", "invalidValue")


def test_unknown_endpoints_and_methods_answer_in_scim(scim):
    assert scim("GET", "/Groups")[0] == 404
    assert scim("POST", "/Bulk", {})[0] == 404
    assert scim("DELETE", "/Users")[0] == 405


# --- Discovery ---------------------------------------------------------------------------------

def test_service_provider_config_says_what_is_supported(scim):
    status, body = scim("GET", "/ServiceProviderConfig")
    assert status == 200
    assert (body["patch"]["supported"], body["filter"]["supported"], body["bulk"]["supported"],
            body["sort"]["supported"], body["etag"]["supported"], body["changePassword"]["supported"]) == (
        True, True, False, False, False, False)
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas(scim):
    status, body = scim("GET", "/ResourceTypes")
    assert status == 200 and [r["id"] for r in body["Resources"]] == ["User"]
    assert body["Resources"][0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert scim("GET", "/ResourceTypes/User")[1]["endpoint"] == "/Users"
    status, body = scim("GET", "/Schemas")
    assert [s["id"] for s in body["Resources"]] == [CORE, ENTERPRISE]
    names = [a["name"] for a in body["Resources"][0]["attributes"]]
    assert names == ["userName", "name", "locale", "timezone", "active", "emails"]
    assert scim("GET", f"/Schemas/{ENTERPRISE}")[1]["id"] == ENTERPRISE
    assert scim("GET", "/Schemas/urn:nope")[0] == 404


# --- Tokens from the command line ---------------------------------------------------------------

def test_token_commands(db, runner, client):
    result = runner.invoke(args=["scim", "token", "create"])
    assert result.exit_code == 0
    raw = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/scim/v2/ServiceProviderConfig", headers=headers).status_code == 200
    listed = runner.invoke(args=["scim", "token", "list"]).output
    token_id = listed.split()[0]
    assert "active" in listed and raw not in listed
    assert runner.invoke(args=["scim", "token", "revoke", token_id]).exit_code == 0
    assert "revoked" in runner.invoke(args=["scim", "token", "list"]).output
    assert client.get("/scim/v2/ServiceProviderConfig", headers=headers).status_code == 401
    assert runner.invoke(args=["scim", "token", "revoke", "9999"]).exit_code == 1
    assert list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id))) == [
        "scim.token.created", "scim.token.revoked"]


def test_the_models_match_the_migration(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "scim_" in repr(d)] == []
