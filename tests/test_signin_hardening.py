"""Sign-in hardening: parallel guesses, equal timing, a fresh session at sign-in, no-store on private responses."""

import re
import statistics
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import g

from people.models import LoginAttempt
from surveys import building, invitations, rounds
from tests.conftest import PASSWORD, personal_token, run_concurrently

# Slow enough that, without an atomic count, parallel guesses all pass the lockout check before any is recorded
# (the production hasher is slower still), and that the hash dominates a request's time.
SLOW_HASH = "pbkdf2:sha256:150000"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PASSWORD_HASH_METHOD": SLOW_HASH}


def _attempts(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))


def _post_in_parallel(app, requests: list[tuple[str, dict]]) -> list[int]:
    """Send every (url, form-or-json) at the same moment, each from its own client and thread; return statuses."""

    def send(url: str, body: dict) -> int:
        client = app.test_client()
        if url.startswith("/api/"):
            return client.post(url, json=body).status_code
        return client.post(url, data=body).status_code

    return run_concurrently(*(lambda r=r: send(*r) for r in requests))


# --- Parallel guesses ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/login", "/api/v1/auth/token"])
@pytest.mark.parametrize("guesses", [20, 40])
def test_parallel_wrong_guesses_check_at_most_the_limit_of_passwords(app, factory, db, url, guesses):
    factory.person("a@example.com")
    limit = app.config["LOGIN_MAX_FAILURES"]

    statuses = _post_in_parallel(app, [(url, {"email": "a@example.com", "password": f"guess{i}"})
                                       for i in range(guesses)])

    # 401: the password was checked and was wrong; 429: refused before any check.
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= limit
    assert statuses.count(401) + statuses.count(429) == guesses
    assert _attempts(db) == statuses.count(401)  # refused guesses leave no row that would extend the lockout
    right = app.test_client().post("/login", data={"email": "a@example.com", "password": PASSWORD})
    assert right.status_code == (429 if statuses.count(401) == limit else 302)


def test_parallel_guesses_at_many_accounts_from_one_client_address_check_at_most_its_limit(app, factory):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 10  # the default (300) lets a whole office through one address
    for i in range(30):
        factory.person(f"p{i}@example.com")

    statuses = _post_in_parallel(app, [("/login", {"email": f"p{i}@example.com", "password": "wrong"})
                                       for i in range(30)])

    assert statuses.count(401) <= app.config["LOGIN_ADDRESS_MAX_FAILURES"]
    assert statuses.count(401) + statuses.count(429) == 30


def test_parallel_guesses_at_many_accounts_from_one_address_within_its_limit_are_all_checked(app, factory):
    for i in range(30):
        factory.person(f"p{i}@example.com")

    statuses = _post_in_parallel(app, [("/login", {"email": f"p{i}@example.com", "password": "wrong"})
                                       for i in range(30)])

    assert statuses == [401] * 30  # an office's typos behind one proxy lock nobody out


def test_correct_password_among_parallel_guesses_inside_the_limit_signs_in(app, factory, db):
    factory.person("a@example.com")
    limit = app.config["LOGIN_MAX_FAILURES"]
    wrong = [("/login", {"email": "a@example.com", "password": f"guess{i}"}) for i in range(limit - 1)]

    statuses = _post_in_parallel(app, [*wrong, ("/login", {"email": "a@example.com", "password": PASSWORD})])

    assert statuses == [401] * (limit - 1) + [302]
    # A sign-in forgets the failures recorded before it; only guesses recorded after it may be left.
    assert _attempts(db) < limit


def test_correct_password_after_one_failure_short_of_the_limit_signs_in(app, factory, auth, db):
    factory.person("a@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert auth.login("a@example.com", "wrong").status_code == 401
    assert auth.login("a@example.com").status_code == 302
    assert _attempts(db) == 0  # a sign-in forgets the account's failures: the next typo is free again


# --- Timing --------------------------------------------------------------------------------------------


@pytest.fixture
def generous_limit(app):
    app.config["LOGIN_MAX_FAILURES"] = 1000


def _median_seconds(client, email: str, tries: int = 7) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        assert client.post("/login", data={"email": email, "password": "wrong"}).status_code == 401
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.parametrize("other", ["nobody@example.com", "gone@example.com", "nopassword@example.com"])
def test_wrong_password_takes_as_long_for_an_unknown_or_inactive_account_as_for_a_real_one(
        client, factory, generous_limit, other):
    factory.person("a@example.com")
    factory.person("gone@example.com", active=False)
    factory.person("nopassword@example.com", password=None)
    _median_seconds(client, "a@example.com", tries=1)  # warm up: the dummy hash is made once per process
    _median_seconds(client, other, tries=1)

    known, unknown = _median_seconds(client, "a@example.com"), _median_seconds(client, other)

    assert max(known, unknown) / min(known, unknown) < 3, (known, unknown)


# --- A fresh session at sign-in ------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True


def _form_token(client, path: str) -> str:
    """The CSRF token in the form of the page at ``path``, as a browser would see it."""
    # Test requests share the fixture's app context, so its g, where Flask-WTF caches the signed token for the
    # length of one request, would outlive the request; in production every request starts with a fresh g.
    g.pop("csrf_token", None)
    html = client.get(path).data
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()


def test_sign_in_replaces_the_csrf_token_and_the_session(client, factory, csrf_on):
    factory.person("a@example.com")
    old_token = _form_token(client, "/login")
    with client.session_transaction() as sess:
        old_secret = sess["csrf_token"]
        sess["planted"] = "by someone who handed over this cookie"
    old_cookie = client.get_cookie("session").value

    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": old_token})
    assert response.status_code == 302

    new_token = _form_token(client, "/settings")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["csrf_token"] != old_secret
    assert new_token != old_token
    assert client.get_cookie("session").value != old_cookie


def test_the_csrf_token_from_before_sign_in_no_longer_works(client, factory, csrf_on):
    factory.person("a@example.com")
    old_token = _form_token(client, "/login")
    client.post("/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": old_token})

    client.post("/logout", data={"csrf_token": old_token})
    assert client.get("/").status_code == 200  # still signed in: the old token was refused

    client.post("/logout", data={"csrf_token": _form_token(client, "/settings")})
    assert client.get("/").status_code == 302


def test_language_chosen_before_sign_in_survives_it(client, factory, csrf_on):
    factory.person("a@example.com", locale=None)
    token = _form_token(client, "/login")
    client.post("/language/it", data={"csrf_token": token})

    client.post("/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token})

    with client.session_transaction() as sess:
        assert sess["locale"] == "it"
    assert 'lang="it"' in client.get("/").get_data(as_text=True)


def test_next_still_leads_to_the_page_asked_for_after_sign_in(client, factory, csrf_on):
    factory.person("a@example.com")
    token = _form_token(client, "/login?next=/settings")
    response = client.post("/login?next=/settings", data={"email": "a@example.com", "password": PASSWORD,
                                                          "csrf_token": token})
    assert response.headers["Location"] == "/settings"


# --- Cache-Control ---------------------------------------------------------------------------------------


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_pages_for_a_signed_in_person_are_not_stored(client, factory, auth):
    factory.person("a@example.com")
    response = auth.login("a@example.com")
    assert _no_store(response)  # the redirect that carries the new session cookie
    assert _no_store(client.get("/"))
    assert _no_store(client.get("/settings"))


def _open_round(person):
    """A survey with an open round that ``person`` is invited to; return the invitation."""
    now = datetime.now(UTC)
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly",
                                     "questions": [{"library_key": "enps", "required": True}]}, now)
    return invitations.invitation_for(person, rounds.open_round_now(survey, now).id)


def test_a_personal_survey_link_is_not_stored(client, factory):
    invitation = _open_round(factory.person("a@example.com"))
    response = client.get(f"/s/{personal_token(invitation.id)}")
    assert response.status_code == 200
    assert _no_store(response)
    assert _no_store(client.get("/s/not-a-token"))


def test_api_token_responses_and_every_api_answer_are_not_stored(client, factory):
    factory.person("hr@example.com", role="hr_admin")
    response = client.post("/api/v1/auth/token", json={"email": "hr@example.com", "password": PASSWORD})
    assert response.status_code == 201
    assert _no_store(response)
    assert _no_store(client.post("/api/v1/auth/token", json={"email": "hr@example.com", "password": "wrong"}))
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    assert _no_store(client.get("/api/v1/employees", headers=headers))


def test_exports_are_not_stored(client, factory, auth):
    _open_round(factory.person("hr@example.com", role="hr_admin"))
    auth.login("hr@example.com")
    response = client.get("/results/export.csv")
    assert response.status_code == 200
    assert _no_store(response)


def test_static_files_keep_their_own_caching_for_a_signed_in_person(client, factory, auth):
    factory.person("a@example.com")
    auth.login("a@example.com")
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    assert not _no_store(static)
    plotly = client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200
    assert "public" in plotly.headers["Cache-Control"] and not _no_store(plotly)
