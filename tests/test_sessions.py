"""Signed-in sessions that the server can end, changing a password, and the NIST password rules.

Each browser's sign-in is a row; the cookie only carries its key. These tests use two real test
clients as two browsers of one person.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

from audit.models import AuditEvent
from errors import ValidationError
from people import passwords
from people.models import ApiToken, SignInSession
from tests.conftest import PASSWORD

NEW_PASSWORD = "lantern giraffe pickle orbit"
# Any call a signed-in employee may make: 401 means the token no longer signs anyone in.
PROBE = "/api/v1/one-on-ones/999999/occurrences"


def _forget_cached_user() -> None:
    # The test app context outlives requests, and Flask-Login caches the user on g; production has a
    # fresh g per request, so each request here must find its person from its own cookie again.
    g.pop("_login_user", None)


def _browser(app, email, password=PASSWORD):
    _forget_cached_user()
    browser = app.test_client()
    response = browser.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.text
    return browser


def _signed_in(browser) -> bool:
    _forget_cached_user()
    return browser.get("/settings").status_code == 200


def test_a_session_is_a_row_and_signing_out_deletes_it(app, db, factory):
    person = factory.person("ada@example.com")
    browser = _browser(app, person.email)
    assert _signed_in(browser)
    rows = db.session.scalars(sa.select(SignInSession).where(SignInSession.person_id == person.id)).all()
    assert len(rows) == 1 and rows[0].method == "password" and not rows[0].remember
    # The cookie holds a key; the table holds only its SHA-256.
    with browser.session_transaction() as cookie:
        assert cookie["sid"] != rows[0].key_hash and len(rows[0].key_hash) == 64
    browser.post("/logout")
    assert not _signed_in(browser)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInSession)) == 0


def test_settings_lists_sessions_and_one_can_be_revoked_from_another(app, db, factory):
    person = factory.person("ada@example.com")
    laptop, phone = _browser(app, person.email), _browser(app, person.email)
    page = laptop.get("/settings").text
    assert page.count("Sign out") >= 2 and "This browser" in page
    phone_row = db.session.scalars(sa.select(SignInSession).order_by(SignInSession.id.desc())).first()
    assert laptop.post(f"/settings/sessions/{phone_row.id}/revoke").status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "session.revoked")) is not None


def test_nobody_can_revoke_someone_elses_session_or_token(app, db, factory, api_token):
    ada, bob = factory.person("ada@example.com"), factory.person("bob@example.com")
    bob_browser = _browser(app, bob.email)
    api_token(bob.email)
    bob_session = db.session.scalar(sa.select(SignInSession).where(SignInSession.person_id == bob.id))
    bob_token = db.session.scalar(sa.select(ApiToken).where(ApiToken.person_id == bob.id))
    ada_browser = _browser(app, ada.email)
    ada_browser.post(f"/settings/sessions/{bob_session.id}/revoke")
    ada_browser.post(f"/settings/tokens/{bob_token.id}/revoke")
    assert _signed_in(bob_browser)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_an_expired_session_signs_nobody_in(app, db, factory):
    person = factory.person("ada@example.com")
    browser = _browser(app, person.email)
    db.session.execute(sa.update(SignInSession).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.session.commit()
    assert not _signed_in(browser)


def test_keep_me_signed_in_makes_a_lasting_session(app, db, factory):
    person = factory.person("ada@example.com")
    browser = app.test_client()
    browser.post("/login", data={"email": person.email, "password": PASSWORD, "remember_me": "y"})
    row = db.session.scalar(sa.select(SignInSession))
    assert row.remember
    assert row.expires_at - row.created_at == timedelta(days=app.config["SESSION_REMEMBER_DAYS"])


def test_an_api_token_can_be_revoked_from_settings(app, db, factory, api_token):
    person = factory.person("ada@example.com")
    headers = api_token(person.email)
    browser = _browser(app, person.email)
    assert browser.get(PROBE, headers=headers).status_code != 401
    token = db.session.scalar(sa.select(ApiToken))
    assert browser.post(f"/settings/tokens/{token.id}/revoke").status_code == 302
    assert browser.get(PROBE, headers=headers).status_code == 401
    kinds = AuditEvent.action.in_(["signin.api_token", "token.revoked"])
    events = [(e.action, e.actor_email) for e in db.session.scalars(
        sa.select(AuditEvent).where(kinds).order_by(AuditEvent.id))]
    assert events == [("signin.api_token", "ada@example.com"), ("token.revoked", "ada@example.com")]


def test_changing_the_password_needs_the_current_one(app, db, factory):
    person = factory.person("ada@example.com")
    browser = _browser(app, person.email)
    response = browser.post("/settings/password", data={"current_password": "wrong one entirely",
                                                         "new_password": NEW_PASSWORD})
    assert response.status_code == 422 and "Your current password is not correct." in response.text
    db.session.refresh(person)
    assert person.check_password(PASSWORD)


@pytest.mark.parametrize(("new", "message"), [
    ("short pass", "Use at least 12 characters."),
    ("password1234", "too common or too easy to guess"),
    ("qwertyuiop12", "too common or too easy to guess"),
    ("ada@example.com1", "too common or too easy to guess"),  # the person's own e-mail
    ("x" * 257, "Use at most 256 characters."),
])
def test_a_weak_new_password_is_refused_and_nothing_changes(app, db, factory, new, message):
    person = factory.person("ada@example.com")
    browser = _browser(app, person.email)
    response = browser.post("/settings/password", data={"current_password": PASSWORD, "new_password": new})
    assert response.status_code == 422 and message in response.text
    db.session.refresh(person)
    assert person.check_password(PASSWORD)


def test_a_password_change_signs_out_everywhere_else_and_revokes_tokens(app, db, factory, api_token):
    person = factory.person("ada@example.com")
    headers = api_token(person.email)
    here, elsewhere = _browser(app, person.email), _browser(app, person.email)
    response = here.post("/settings/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)
    assert here.get(PROBE, headers=headers).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    db.session.refresh(person)
    assert person.check_password(NEW_PASSWORD) and not person.check_password(PASSWORD)
    entry = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "password.changed"))
    assert entry is not None and NEW_PASSWORD not in (entry.summary or "")
    assert _browser(app, person.email, NEW_PASSWORD)


def test_no_composition_rules_a_long_passphrase_is_enough(app):
    with app.test_request_context():
        assert passwords.check_new_password("correct horse battery staple") == "correct horse battery staple"
        assert passwords.check_new_password("alllowercaselettersbutlong") == "alllowercaselettersbutlong"
        with pytest.raises(ValidationError) as refused:
            passwords.check_new_password("Password123!", field="new_password")
        assert "new_password" in refused.value.fields


def test_a_sign_in_is_audited_once_with_its_method(app, db, factory):
    person = factory.person("ada@example.com")
    _browser(app, person.email)
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["signin.password"]


def test_expired_sessions_are_purged(app, db, factory):
    from people.auth import purge_sessions

    person = factory.person("ada@example.com")
    _browser(app, person.email)
    assert purge_sessions(datetime.now(UTC)) == 0
    assert purge_sessions(datetime.now(UTC) + timedelta(days=2)) == 1


@pytest.mark.parametrize(("agent", "shown"), [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
     "Chrome (Linux)"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0",
     "Edge (Windows)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Safari/604.1",
     "Safari (iOS)"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox (Linux)"),
    ("curl/8.5.0", "curl"),
    ("an-unknown-client-with-a-very-long-name-that-goes-on-and-on", "an-unknown-client-with-a-very-long-name-"),
    (None, None),
])
def test_settings_names_a_browser_in_a_few_words_not_its_whole_user_agent(agent, shown):
    from people.models import browser_name

    assert browser_name(agent) == shown


def test_settings_makes_an_api_token_shown_once_and_stored_hashed(app, db, factory, client):
    import hashlib
    import re

    person = factory.person("ada@example.com")
    browser = _browser(app, person.email)
    _forget_cached_user()
    page = browser.post("/settings/tokens")
    assert page.status_code == 200
    raw = re.search(r'<code[^>]*id="new-token">([^<]+)</code>', page.text).group(1)
    (token,) = db.session.scalars(sa.select(ApiToken)).all()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest() and token.person_id == person.id
    _forget_cached_user()
    assert client.get(PROBE, headers={"Authorization": f"Bearer {raw}"}).status_code != 401
    _forget_cached_user()
    assert raw not in browser.get("/settings").text  # shown once
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "token.created"))


def test_when_two_factor_is_mandatory_an_hr_admin_cannot_make_a_token_with_a_password_alone(app, db, factory,
                                                                                          client):
    app.config["POLSO_REQUIRE_2FA"] = "hr_admin"
    factory.person("hr@example.com", role="hr_admin")
    factory.person("emp@example.com")
    refused = client.post("/api/v1/auth/token", json={"email": "hr@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and "Settings" in refused.get_json()["error"]["message"]
    allowed = client.post("/api/v1/auth/token", json={"email": "emp@example.com", "password": PASSWORD})
    assert allowed.status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_signing_in_as_someone_else_ends_the_browsers_earlier_session(app, db, factory):
    from flask import session

    from people import auth

    ada, bo = factory.person("ada@example.com"), factory.person("bo@example.com")
    browser = _browser(app, ada.email)
    with browser.session_transaction() as cookie:
        ada_key = cookie["sid"]
    # A set-password link signs its person in on whatever browser opens it, Ada's here.
    with app.test_request_context("/"):
        session["sid"] = ada_key
        auth.start_session(bo, method="password", remember=False, now=datetime.now(UTC))
    rows = db.session.scalars(sa.select(SignInSession.person_id)).all()
    assert rows == [bo.id]  # Ada's row on this browser is gone, not left to expire
