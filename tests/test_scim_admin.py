"""HR's Provisioning page: SCIM tokens made, shown once and revoked without the server's command line."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa
from flask import g

from audit.models import AuditEvent
from scim.models import ScimToken
from tests.conftest import PASSWORD

SCIM_JSON = "application/scim+json"


def _browser(app, email):
    g.pop("_login_user", None)
    browser = app.test_client()
    assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return browser


@pytest.fixture
def hr_browser(app, factory):
    factory.person("hr@example.com", role="hr_admin")
    return _browser(app, "hr@example.com")


def _users(client, raw):
    g.pop("_login_user", None)
    return client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {raw}", "Accept": SCIM_JSON})


def test_hr_makes_a_token_shown_once_that_provisions_and_then_revokes_it(app, db, hr_browser, client):
    app.config["POLSO_BASE_URL"] = "https://polso.example.com"
    page = hr_browser.get("/provisioning")
    assert page.status_code == 200 and "https://polso.example.com/scim/v2" in page.text
    assert "No token yet" in page.text

    made = hr_browser.post("/provisioning/tokens")
    assert made.status_code == 200
    raw = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
    (token,) = db.session.scalars(sa.select(ScimToken)).all()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in hr_browser.get("/provisioning").text  # shown once
    assert _users(client, raw).status_code == 200

    g.pop("_login_user", None)
    revoked = hr_browser.post(f"/provisioning/tokens/{token.id}/revoke", follow_redirects=True)
    assert "is revoked" in revoked.text and "Revoked on" in revoked.text
    assert _users(client, raw).status_code == 401
    events = [(e.action, e.actor_email) for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("scim.token.%")).order_by(AuditEvent.id))]
    assert events == [("scim.token.created", "hr@example.com"), ("scim.token.revoked", "hr@example.com")]


def test_revoking_a_token_that_does_not_exist_says_so(app, db, hr_browser):
    response = hr_browser.post("/provisioning/tokens/999999/revoke", follow_redirects=True)
    assert response.status_code == 200 and "There is no such token." in response.text


@pytest.mark.parametrize("role", ["employee", "manager"])
def test_only_hr_admins_reach_the_provisioning_page(app, db, factory, role):
    boss = factory.person("boss@example.com")
    if role == "manager":
        factory.person("report@example.com", manager=boss)
        email = "boss@example.com"
    else:
        factory.person("emp@example.com")
        email = "emp@example.com"
    browser = _browser(app, email)
    for method, path in (("get", "/provisioning"), ("post", "/provisioning/tokens"),
                         ("post", "/provisioning/tokens/1/revoke")):
        g.pop("_login_user", None)
        assert getattr(browser, method)(path).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScimToken)) == 0


def test_without_the_form_token_nothing_is_made(app, db, factory):
    app.config["WTF_CSRF_ENABLED"] = True
    factory.person("hr@example.com", role="hr_admin")
    g.pop("_login_user", None)
    browser = app.test_client()
    login = browser.get("/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    browser.post("/login", data={"email": "hr@example.com", "password": PASSWORD, "csrf_token": csrf})
    g.pop("_login_user", None)
    browser.post("/provisioning/tokens")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScimToken)) == 0
