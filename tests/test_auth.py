"""Signing in and out, the rate limit, CSRF and role checks."""

import sqlalchemy as sa

from people.models import LoginAttempt
from tests.conftest import PASSWORD


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
