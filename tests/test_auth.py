"""Signing in and out, the rate limit, CSRF and role checks."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from errors import TooManyAttempts
from people.models import LoginAttempt
from people.signin import authenticate, purge_login_attempts
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


def test_too_many_failures_lock_the_account_even_with_the_right_password(app, factory, auth):
    factory.person("a@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("a@example.com", "wrong").status_code == 401
    response = auth.login("a@example.com")
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.data


def test_purge_deletes_only_login_attempts_older_than_the_rate_limit_window(app, db):
    window = timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"])
    ages = [window + timedelta(days=30), window + timedelta(seconds=1), window, window - timedelta(seconds=1),
            timedelta(0)]
    db.session.add_all([LoginAttempt(email="a@example.com", remote_addr="10.0.0.1", at=NOW - age) for age in ages])
    db.session.commit()

    assert purge_login_attempts(NOW) == 2

    kept = db.session.scalars(sa.select(LoginAttempt.at).order_by(LoginAttempt.at)).all()
    assert kept == [NOW - window, NOW - window + timedelta(seconds=1), NOW]
    assert purge_login_attempts(NOW) == 0


def test_rate_limit_still_holds_after_a_purge_and_ends_with_its_window(app, factory, db):
    factory.person("a@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert authenticate("a@example.com", "wrong", "10.0.0.1", NOW) is None
    soon = NOW + timedelta(minutes=1)

    assert purge_login_attempts(soon) == 0
    with pytest.raises(TooManyAttempts):
        authenticate("a@example.com", PASSWORD, "10.0.0.1", soon)

    after = NOW + timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"], seconds=1)
    assert purge_login_attempts(after) == app.config["LOGIN_MAX_FAILURES"]
    assert authenticate("a@example.com", PASSWORD, "10.0.0.1", after).email == "a@example.com"
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert authenticate("a@example.com", "wrong", "10.0.0.1", after) is None
    with pytest.raises(TooManyAttempts):
        authenticate("a@example.com", PASSWORD, "10.0.0.1", after)


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
