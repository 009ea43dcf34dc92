"""Single sign-on with OpenID Connect, against a real provider (panva's oidc-provider on loopback).

The main flow runs in Chromium; the refusals play the browser with the Flask test client (Polso's side)
and ``requests`` (the provider's side), still against the real provider.
"""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from people.models import Person
from tests.conftest import PASSWORD, axe_violations, free_port
from tests.oidc_support import CALLBACK, CLIENT_ID, CLIENT_SECRET, Provider, at_provider, changed_query, query_of

PROVIDER_NAME = "Acme ID"


@pytest.fixture
def provider(tmp_path):
    provider = Provider(free_port(), tmp_path / "oidc-provider.log")
    yield provider
    provider.stop()


@pytest.fixture
def app_config(app_config, provider):
    return {**app_config, "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_PROVIDER_NAME": PROVIDER_NAME}


def _start(client, path: str = "/auth/oidc/login") -> str:
    response = client.get(path)
    assert response.status_code == 302
    return response.headers["Location"]


def _return_to_polso(client, callback_url: str):
    assert callback_url.startswith(f"http://localhost{CALLBACK}?")
    return client.get(callback_url)


def _round_trip(client, login: str | None, *, tamper: dict | None = None):
    """Start at Polso, go through the provider (its authorization request changed by ``tamper``) and come
    back; return Polso's answer to the callback."""
    authorization_url = _start(client)
    if tamper:
        authorization_url = changed_query(authorization_url, **tamper)
    return _return_to_polso(client, at_provider(authorization_url, login))


def _refused(client, response) -> str:
    """Assert ``response`` sends the browser back to the sign-in page with no one signed in; return the
    page's text (with its notice)."""
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200
    assert client.get("/").status_code == 302  # still signed out
    return unescape(page.get_data(as_text=True))


def _signed_in_events(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.actor_email).where(AuditEvent.action == "signin.oidc")))


# --- Signing in ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_known_person_signs_in_through_the_provider_in_chromium(app, page, live_server, provider, factory, db):
    app.config["POLSO_BASE_URL"] = live_server
    provider.start([f"{live_server}{CALLBACK}"])
    factory.person("ada@example.com", name="Ada Lovelace", password=None)

    page.goto("/login")
    assert axe_violations(page) == []
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    page.wait_for_url(f"{provider.issuer}/interaction/*")
    page.get_by_label("Account").fill("ada")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Welcome, Ada Lovelace").wait_for()

    assert page.url == f"{live_server}/"
    assert _signed_in_events(db) == ["ada@example.com"]
    assert page.console_errors == []
    assert [url for url in page.foreign_requests if not url.startswith(f"{provider.issuer}/")] == []


def test_sign_in_goes_on_to_the_page_asked_for(client, provider, factory):
    provider.start()
    factory.person("grace@example.com", role="hr_admin")

    authorization_url = _start(client, "/auth/oidc/login?next=/people")
    response = _return_to_polso(client, at_provider(authorization_url, "grace"))

    assert response.status_code == 302
    assert response.headers["Location"] == "/people"
    assert client.get("/people").status_code == 200


def test_email_is_read_from_userinfo_when_the_id_token_has_none(client, provider, factory):
    provider.start(claimsOnlyFromUserInfo=True)
    factory.person("grace@example.com", name="Grace Hopper")

    response = _round_trip(client, "grace")

    assert response.headers["Location"] == "/"
    assert "Grace Hopper" in client.get("/").get_data(as_text=True)


def test_authorization_request_uses_pkce_state_and_nonce(client, provider):
    provider.start()

    query = query_of(_start(client))

    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"http://localhost{CALLBACK}"
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43 and query["state"] and query["nonce"]


# --- Who may sign in -------------------------------------------------------------------------------


def test_unknown_person_is_refused(client, provider, db):
    provider.start()

    page = _refused(client, _round_trip(client, "newcomer"))

    assert "No one in Polso has the e-mail address newcomer@example.com." in page
    assert db.session.scalar(sa.select(Person).where(Person.email == "newcomer@example.com")) is None


def test_unknown_person_is_added_as_an_employee_when_oidc_create_people_is_on(app, client, provider, db):
    app.config["OIDC_CREATE_PEOPLE"] = True
    provider.start()

    response = _round_trip(client, "newcomer")

    assert response.status_code == 302 and response.headers["Location"] == "/"
    person = db.session.scalar(sa.select(Person).where(Person.email == "newcomer@example.com"))
    assert (person.name, person.role, person.active) == ("Nina Newcomer", "employee", True)
    created = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.created_by_sso")).all()
    assert [(event.target_type, event.target_id) for event in created] == [("person", person.id)]
    assert _signed_in_events(db) == ["newcomer@example.com"]
    assert client.get("/").status_code == 200


def test_email_the_provider_has_not_verified_is_refused(client, provider, factory):
    provider.start()
    factory.person("ada@example.com")

    page = _refused(client, _round_trip(client, "unverified"))

    assert f"{PROVIDER_NAME} has not verified your e-mail address ada@example.com" in page


@pytest.mark.parametrize(("login", "signed_in"), [("entra", True), ("entra-unverified", False)])
def test_entra_ids_domain_verified_claim_stands_for_email_verified(client, provider, factory, login, signed_in):
    provider.start()
    factory.person("grace@example.com")

    response = _round_trip(client, login)

    assert (response.headers["Location"] == "/") is signed_in
    assert (client.get("/").status_code == 200) is signed_in


def test_deactivated_person_is_refused(client, provider, factory):
    provider.start()
    factory.person("former@example.com", active=False)

    page = _refused(client, _round_trip(client, "former"))

    assert "Your Polso account has been deactivated." in page


# --- Refusing answers that do not check out --------------------------------------------------------


def test_wrong_state_is_refused(client, provider, factory, db):
    provider.start()
    factory.person("ada@example.com")
    callback_url = at_provider(_start(client), "ada")

    page = _refused(client, _return_to_polso(client, changed_query(callback_url, state="not-the-state")))

    assert f"Signing in with {PROVIDER_NAME} did not complete" in page
    assert _signed_in_events(db) == []


def test_answer_to_a_sign_in_started_in_another_browser_is_refused(app, client, provider, factory, db):
    provider.start()
    factory.person("ada@example.com")
    callback_url = at_provider(_start(app.test_client()), "ada")  # someone else's sign-in

    page = _refused(client, _return_to_polso(client, callback_url))

    assert f"Signing in with {PROVIDER_NAME} did not complete" in page
    assert _signed_in_events(db) == []


def test_answer_cannot_be_used_twice(client, provider, factory):
    provider.start()
    factory.person("ada@example.com")
    callback_url = at_provider(_start(client), "ada")
    assert _return_to_polso(client, callback_url).headers["Location"] == "/"
    client.post("/logout")

    page = _refused(client, _return_to_polso(client, callback_url))

    assert f"Signing in with {PROVIDER_NAME} did not complete" in page


def test_wrong_nonce_is_refused(client, provider, factory, db):
    provider.start()
    factory.person("ada@example.com")

    page = _refused(client, _round_trip(client, "ada", tamper={"nonce": "a-nonce-polso-never-sent"}))

    assert f"The sign-in from {PROVIDER_NAME} could not be verified: it does not belong to this sign-in." in page
    assert _signed_in_events(db) == []


def test_missing_nonce_is_refused(client, provider, factory, db):
    provider.start()
    factory.person("ada@example.com")

    page = _refused(client, _round_trip(client, "ada", tamper={"nonce": None}))

    assert "it does not belong to this sign-in." in page
    assert _signed_in_events(db) == []


def test_expired_id_token_is_refused(client, provider, factory, db):
    # The provider's clock runs ten minutes behind and its ID tokens last a minute: expired on arrival.
    provider.start(clockSkewSeconds=-600, idTokenTtl=60)
    factory.person("ada@example.com")

    page = _refused(client, _round_trip(client, "ada"))

    assert f"The sign-in from {PROVIDER_NAME} could not be verified: it has expired" in page
    assert _signed_in_events(db) == []


def test_id_token_for_another_audience_is_refused(client, provider, factory, db):
    provider.start(idTokenAudience="another-application")
    factory.person("ada@example.com")

    page = _refused(client, _round_trip(client, "ada"))

    assert "could not be verified: it was issued for another application." in page
    assert _signed_in_events(db) == []


def test_provider_naming_another_issuer_is_refused(app, client, provider, db):
    # Discovery at localhost answers that the issuer is 127.0.0.1: not the issuer Polso was given.
    app.config["OIDC_ISSUER"] = provider.issuer.replace("127.0.0.1", "localhost")
    provider.start()

    page = _refused(client, client.get("/auth/oidc/login"))

    assert f"{PROVIDER_NAME} is not set up correctly for Polso (it names another issuer)." in page


def test_answer_naming_another_issuer_is_refused(client, provider, factory, db):
    provider.start()
    factory.person("ada@example.com")
    callback_url = at_provider(_start(client), "ada")

    page = _refused(client, _return_to_polso(client, changed_query(callback_url, iss="https://evil.example")))

    assert "could not be verified: it was issued by another provider." in page
    assert _signed_in_events(db) == []


def test_sign_in_cancelled_at_the_provider_is_refused(client, provider, db):
    provider.start()

    callback_url = at_provider(_start(client), None)
    assert query_of(callback_url)["error"] == "access_denied"
    page = _refused(client, _return_to_polso(client, callback_url))

    assert f"Signing in with {PROVIDER_NAME} was cancelled." in page
    assert _signed_in_events(db) == []


def test_other_provider_error_is_refused(client, provider, db):
    provider.start()

    # prompt=none asks the provider not to show a page; with no session there it answers login_required.
    page = _refused(client, _round_trip(client, "ada", tamper={"prompt": "none"}))

    assert f"{PROVIDER_NAME} did not sign you in (login_required)." in page


def test_unreachable_provider_is_refused(client, provider):
    page = _refused(client, client.get("/auth/oidc/login"))  # never started

    assert f"{PROVIDER_NAME} cannot be reached right now." in page


# --- The sign-in page and passwords ----------------------------------------------------------------


def test_login_page_offers_single_sign_on_only_when_configured(app, client):
    page = client.get("/login?next=/people").get_data(as_text=True)
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'href="/auth/oidc/login?next=/people"' in page or 'href="/auth/oidc/login?next=%2Fpeople"' in page

    app.config["OIDC_ISSUER"] = None
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with" not in page
    assert client.get("/auth/oidc/login").headers["Location"] == "/login"


def test_login_page_says_passwords_are_for_hr_admins_when_so_configured(app, client):
    assert "for HR admins only" not in client.get("/login").get_data(as_text=True)
    app.config["POLSO_PASSWORD_LOGIN"] = "admins"
    page = client.get("/login").get_data(as_text=True)
    assert "Signing in with a password is for HR admins only." in page
    assert 'name="password"' in page


def test_with_password_login_for_admins_an_employee_password_is_refused(app, client, auth, factory):
    app.config["POLSO_PASSWORD_LOGIN"] = "admins"
    factory.person("employee@example.com")

    response = auth.login("employee@example.com", PASSWORD)

    assert response.status_code == 403
    assert f"Sign in with {PROVIDER_NAME}: only HR admins may sign in with a password here." in unescape(
        response.get_data(as_text=True))
    assert client.get("/").status_code == 302


def test_with_password_login_for_admins_an_hr_admin_password_works(app, client, auth, factory):
    app.config["POLSO_PASSWORD_LOGIN"] = "admins"
    factory.person("hr@example.com", role="hr_admin")

    response = auth.login("hr@example.com", PASSWORD)

    assert response.status_code == 302
    assert client.get("/").status_code == 200
