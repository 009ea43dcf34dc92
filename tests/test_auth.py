"""Signing in and out, the rate limit, CSRF and role checks."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from errors import TooManyAttempts
from people.models import LoginAttempt
from people.signin import authenticate, backoff, purge_login_attempts
from tests.conftest import PASSWORD

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_passwords_are_stored_hashed(factory, db):
    person = factory.person("a@example.com")
    assert person.password_hash and PASSWORD not in person.password_hash
    assert person.check_password(PASSWORD)
    assert not person.check_password("wrong")


def test_correct_password_signs_in_and_redirects_home(client, factory, auth):
    factory.person("a@example.com", name="Ada Lovelace")
    response = auth.login("A@Example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert b"Ada Lovelace" in client.get("/").data


def test_wrong_password_is_refused_with_a_message(factory, auth, db):
    factory.person("a@example.com")
    response = auth.login("a@example.com", "nope")
    assert response.status_code == 401
    assert b"E-mail or password is not correct." in response.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1


def test_deactivated_person_cannot_sign_in(factory, auth):
    factory.person("gone@example.com", active=False)
    assert auth.login("gone@example.com").status_code == 401


def test_after_the_free_failures_even_the_right_password_waits_for_the_backoff(app, factory, auth):
    factory.person("a@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("a@example.com", "wrong").status_code == 401
    response = auth.login("a@example.com")
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.data
    assert 0 < int(response.headers["Retry-After"]) <= app.config["LOGIN_BACKOFF_SECONDS"]


def test_the_wait_doubles_with_each_further_failure_up_to_the_longest(app):
    base, most = app.config["LOGIN_BACKOFF_SECONDS"], app.config["LOGIN_MAX_FAILURES"]
    waits = [backoff(most + extra).total_seconds() for extra in range(8)]
    assert [backoff(n) for n in range(most)] == [timedelta(0)] * most
    assert waits[:3] == [base, 2 * base, 4 * base]
    assert max(waits) == app.config["LOGIN_LOCKOUT_MINUTES"] * 60 == backoff(10_000).total_seconds()


def test_each_wait_is_honoured_and_the_right_password_after_it_signs_in(app, factory, db):
    factory.person("a@example.com")
    at = NOW
    for failures in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        at += backoff(failures)
        if failures >= app.config["LOGIN_MAX_FAILURES"]:
            with pytest.raises(TooManyAttempts) as refused:  # a second early is too early
                authenticate("a@example.com", PASSWORD, "10.0.0.1", at - timedelta(seconds=1))
            assert refused.value.retry_after == 1
        assert authenticate("a@example.com", "wrong", "10.0.0.1", at) is None
    at += backoff(app.config["LOGIN_MAX_FAILURES"] + 3)
    assert authenticate("a@example.com", PASSWORD, "10.0.0.1", at).email == "a@example.com"
    # A sign-in forgets the failures: the next typo is free again.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0
    assert authenticate("a@example.com", "wrong", "10.0.0.1", at) is None


def test_an_unknown_address_is_slowed_exactly_as_a_real_account(app, factory):
    factory.person("a@example.com")
    refusals = []
    for email in ("a@example.com", "nobody@example.com"):
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            assert authenticate(email, "wrong", "10.0.0.1", NOW) is None
        with pytest.raises(TooManyAttempts) as refused:
            authenticate(email, "wrong", "10.0.0.1", NOW)
        refusals.append((refused.value.message, refused.value.retry_after))
    assert refusals[0] == refusals[1]


def test_fifty_wrong_passwords_behind_one_proxy_address_do_not_stop_a_colleague(app, factory, auth, db):
    factory.person("a@example.com")
    factory.person("colleague@example.com")
    statuses = [auth.login("a@example.com", f"guess{i}").status_code for i in range(50)]
    assert statuses == [401] * app.config["LOGIN_MAX_FAILURES"] + [429] * (50 - app.config["LOGIN_MAX_FAILURES"])
    assert auth.login("a@example.com").status_code == 429  # the backoff holds for the right password too
    auth.logout()
    assert auth.login("colleague@example.com").status_code == 302  # same address, another account


def test_the_per_address_limit_refuses_past_its_count(app, factory):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 10
    for i in range(10):
        assert authenticate(f"p{i}@example.com", "wrong", "10.0.0.9", NOW) is None
    with pytest.raises(TooManyAttempts):
        authenticate("p10@example.com", "wrong", "10.0.0.9", NOW)
    assert authenticate("p10@example.com", "wrong", "10.0.0.10", NOW) is None  # another address is not held


@pytest.mark.parametrize(("trusted", "recorded"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_x_forwarded_for_only_through_trusted_proxies(
        database_uri, monkeypatch, trusted, recorded):
    from app import create_app
    from extensions import db as _db
    from tests.conftest import _config

    monkeypatch.setenv("POLSO_TRUSTED_PROXIES", str(trusted))
    app = create_app(_config(database_uri))
    with app.app_context():
        _db.create_all()
        client = app.test_client()
        client.post("/login", data={"email": "x@example.com", "password": "wrong"},
                    headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        assert _db.session.scalars(sa.select(LoginAttempt.remote_addr)).all() == [recorded]
        _db.session.remove()
        _db.drop_all()


def test_purge_deletes_only_login_attempts_no_limit_counts(app, db):
    memory = timedelta(hours=app.config["LOGIN_FAILURE_HOURS"])
    ages = [memory + timedelta(days=30), memory + timedelta(seconds=1), memory, memory - timedelta(seconds=1),
            timedelta(0)]
    db.session.add_all([LoginAttempt(email="a@example.com", remote_addr="10.0.0.1", at=NOW - age) for age in ages])
    db.session.commit()

    assert purge_login_attempts(NOW) == 2

    kept = db.session.scalars(sa.select(LoginAttempt.at).order_by(LoginAttempt.at)).all()
    assert kept == [NOW - memory, NOW - memory + timedelta(seconds=1), NOW]
    assert purge_login_attempts(NOW) == 0


def test_the_wait_still_holds_after_a_purge(app, factory, db):
    factory.person("a@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert authenticate("a@example.com", "wrong", "10.0.0.1", NOW) is None
    soon = NOW + timedelta(seconds=1)
    assert purge_login_attempts(soon) == 0
    with pytest.raises(TooManyAttempts):
        authenticate("a@example.com", PASSWORD, "10.0.0.1", soon)


def test_sign_out_ends_the_session(client, factory, auth):
    factory.person("a@example.com")
    auth.login("a@example.com")
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_next_parameter_only_redirects_within_the_site(client, factory):
    factory.person("a@example.com")
    response = client.post("/login?next=https://evil.example/x", data={"email": "a@example.com",
                                                                     "password": PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/settings", data={"email": "a@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/settings"


def test_session_cookie_is_http_only(client, factory, auth):
    factory.person("a@example.com")
    response = auth.login("a@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_password_sign_in_is_in_the_audit_log_with_its_address_and_a_failure_is_not(app, factory, auth, db):
    from audit.models import AuditEvent

    factory.person("a@example.com")
    assert auth.login("a@example.com", "wrong").status_code == 401
    assert db.session.scalars(sa.select(AuditEvent)).all() == []  # a failure names nobody who exists
    assert auth.login("a@example.com").status_code == 302
    event = db.session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.actor_email, event.remote_addr) == ("signin.password", "a@example.com", "127.0.0.1")


@pytest.fixture
def admins_only(app):
    app.config["POLSO_PASSWORD_LOGIN"] = "admins"
    app.config["OIDC_PROVIDER_NAME"] = "Contoso ID"


def test_with_password_login_for_admins_only_an_employee_is_sent_to_single_sign_on(admins_only, factory, auth, client):
    factory.person("e@example.com")
    response = auth.login("e@example.com")
    assert response.status_code == 403
    assert "Sign in with Contoso ID" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    token = client.post("/api/v1/auth/token", json={"email": "e@example.com", "password": PASSWORD})
    assert token.status_code == 403 and "token" not in token.get_json()


def test_with_password_login_for_admins_only_an_hr_admin_still_gets_in(admins_only, factory, auth, client):
    factory.person("hr@example.com", role="hr_admin")
    assert auth.login("hr@example.com").status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_still_a_401_when_password_login_is_for_admins_only(admins_only, factory, auth):
    factory.person("e@example.com")
    assert auth.login("e@example.com", "wrong password here").status_code == 401


@pytest.mark.parametrize(("name", "value"), [("POLSO_PASSWORD_LOGIN", "nobody"), ("POLSO_REQUIRE_2FA", "manager")])
def test_an_unknown_identity_policy_stops_the_app_from_starting(app_config, name, value):
    from app import create_app

    with pytest.raises(RuntimeError, match=name):
        create_app({**app_config, name: value})
