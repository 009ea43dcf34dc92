"""Two-factor sign-in: setting it up with an authenticator app, the code after the password, recovery
codes, turning it off, and the gate that makes HR admins set it up (``POLSO_REQUIRE_2FA=hr_admin``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import g

from audit.models import AuditEvent
from errors import TooManyAttempts, ValidationError
from people import auth
from people.models import RecoveryCode
from people.twofactor import services
from tests.conftest import PASSWORD, axe_violations, run_concurrently

PROTECTED = "/settings"  # any page behind the sign-in


def _forget_cached_user() -> None:
    # The test app context outlives requests and Flask-Login caches the user on g (see test_sessions).
    g.pop("_login_user", None)


def _browser(app):
    _forget_cached_user()
    return app.test_client()


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _wrong_code(secret: str) -> str:
    right = {_code(secret, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in right)


def _enrolled(db, person) -> tuple[str, list[str]]:
    """Turn two-factor on for ``person`` through the service; return the secret and recovery codes.

    The code that confirmed it is of the step before now, so a test may still sign in with now's code.
    """
    secret = services.start_enrolment(person)
    codes = services.enable(person, _code(secret, -1), datetime.now(UTC))
    return secret, codes


def _password_step(browser, email: str, **kwargs):
    response = browser.post("/login", data={"email": email, "password": PASSWORD}, **kwargs)
    assert response.status_code == 302
    return response


def _signed_in(browser) -> bool:
    _forget_cached_user()
    return browser.get(PROTECTED).status_code == 200


def _audited(db, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# --- Setting it up ---------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_key_and_a_code_turns_it_on_with_ten_recovery_codes(
        app, db, factory, auth):
    person = factory.person("ada@example.com")
    auth.login(person.email)
    page = auth.client.get("/settings/two-factor")
    assert page.status_code == 200
    assert '<svg role="img"' in page.text and "<title>QR code" in page.text
    db.session.refresh(person)
    secret = person.totp_secret
    assert secret and not person.has_two_factor
    assert services.spaced(secret) in page.text

    response = auth.client.post("/settings/two-factor", data={"code": _code(secret)})
    assert response.status_code == 200
    shown = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", response.text)
    assert len(shown) == 10 and len(set(shown)) == 10
    db.session.refresh(person)
    assert person.has_two_factor
    # Only hashes are kept.
    hashes = set(db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.person_id == person.id)))
    assert len(hashes) == 10 and not hashes & set(shown)
    assert _audited(db, "twofactor.enabled") == 1
    assert "Manage two-factor sign-in" in auth.client.get("/settings").text


def test_the_qr_code_has_no_style_attribute_the_csp_would_block(app, factory):
    person = factory.person("ada@example.com")
    svg = services.qr_svg(services.provisioning_uri(person, pyotp.random_base32()), "QR")
    assert "style" not in svg and "<script" not in svg
    assert svg.startswith('<svg role="img"') and "<title>QR</title>" in svg
    assert services.provisioning_uri(person, pyotp.random_base32()).startswith("otpauth://totp/")


def test_the_setup_page_keeps_one_secret_until_it_is_confirmed(app, db, factory, auth):
    person = factory.person("ada@example.com")
    auth.login(person.email)
    auth.client.get("/settings/two-factor")
    first = db.session.get(type(person), person.id).totp_secret
    auth.client.get("/settings/two-factor")
    db.session.refresh(person)
    assert person.totp_secret == first


@pytest.mark.parametrize("code", ["", "   ", "abcdef", "12345", "1234567", "9" * 21, "12 34 5x"])
def test_enrolment_refuses_bad_codes_and_stays_off(app, db, factory, auth, code):
    person = factory.person("ada@example.com")
    auth.login(person.email)
    auth.client.get("/settings/two-factor")
    response = auth.client.post("/settings/two-factor", data={"code": code})
    assert response.status_code == 422
    assert 'id="code-error"' in response.text and 'aria-describedby="code-error' in response.text
    db.session.refresh(person)
    assert not person.has_two_factor


def test_enrolment_refuses_a_wrong_code(app, db, factory, auth):
    person = factory.person("ada@example.com")
    auth.login(person.email)
    auth.client.get("/settings/two-factor")
    db.session.refresh(person)
    response = auth.client.post("/settings/two-factor", data={"code": _wrong_code(person.totp_secret)})
    assert response.status_code == 422 and "That code is not right" in response.text
    db.session.refresh(person)
    assert not person.has_two_factor


def test_a_code_within_one_step_of_now_is_accepted_and_older_ones_are_not(app, factory):
    secret = pyotp.random_base32()
    now = datetime(2026, 3, 1, 12, 0, 15, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // 30
    assert services._totp_step(secret, totp.at(now), now) == step
    assert services._totp_step(secret, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert services._totp_step(secret, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert services._totp_step(secret, totp.at(now - timedelta(seconds=90)), now) is None
    assert services._totp_step(secret, f"{totp.at(now)[:3]} {totp.at(now)[3:]}", now) == step


# --- Signing in with it ----------------------------------------------------------------------

def test_the_password_alone_does_not_sign_in_someone_with_two_factor(app, db, factory):
    person = factory.person("ada@example.com")
    _enrolled(db, person)
    browser = _browser(app)
    response = _password_step(browser, person.email)
    assert response.headers["Location"] == "/login/two-factor"
    assert not _signed_in(browser)
    response = browser.get(PROTECTED)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = browser.get("/login/two-factor")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text


def test_a_password_alone_makes_no_api_token_for_someone_with_two_factor(app, db, factory, client):
    person = factory.person("ada@example.com")
    _enrolled(db, person)
    response = client.post("/api/v1/auth/token", json={"email": person.email, "password": PASSWORD})
    assert response.status_code == 403


def test_the_code_after_the_password_signs_in_and_goes_where_asked(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email, query_string={"next": "/my/surveys"})
    response = browser.post("/login/two-factor", data={"code": _code(secret)})
    assert response.status_code == 302 and response.headers["Location"] == "/my/surveys"
    assert _signed_in(browser)
    assert _audited(db, "signin.password") == 1


@pytest.mark.parametrize("code", ["", "abcdefgh", "12345", "1" * 21])
def test_a_bad_code_is_refused_on_its_field_and_signs_nobody_in(app, db, factory, code):
    person = factory.person("ada@example.com")
    _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email)
    response = browser.post("/login/two-factor", data={"code": code})
    assert response.status_code == 422
    assert 'id="code-error"' in response.text and 'aria-describedby="code-error' in response.text
    assert not _signed_in(browser)


def test_a_wrong_code_is_refused_and_audited(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email)
    response = browser.post("/login/two-factor", data={"code": _wrong_code(secret)})
    assert response.status_code == 422 and "That code is not right" in response.text
    assert not _signed_in(browser)
    assert _audited(db, "twofactor.failed") == 1


def test_a_code_already_used_is_refused(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    code = _code(secret)
    first = _browser(app)
    _password_step(first, person.email)
    assert first.post("/login/two-factor", data={"code": code}).status_code == 302
    second = _browser(app)
    _password_step(second, person.email)
    response = second.post("/login/two-factor", data={"code": code})
    assert response.status_code == 422
    assert not _signed_in(second)


def test_one_code_sent_from_many_browsers_at_once_signs_in_only_one(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browsers = [_browser(app) for _i in range(6)]
    for browser in browsers:
        _password_step(browser, person.email)
    code = _code(secret)
    statuses = run_concurrently(*(lambda b=b: b.post("/login/two-factor", data={"code": code}).status_code
                                  for b in browsers))
    assert sorted(statuses) == [302] + [422] * 5


def test_parallel_wrong_codes_get_no_more_tries_than_the_limit(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browsers = [_browser(app) for _i in range(2 * services.MAX_FAILURES)]
    for browser in browsers:
        _password_step(browser, person.email)
    wrong = _wrong_code(secret)
    statuses = run_concurrently(*(lambda b=b: b.post("/login/two-factor", data={"code": wrong}).status_code
                                  for b in browsers))
    # 422: the code was checked and was wrong; 302: refused before any check, back to the password.
    assert statuses.count(422) == services.MAX_FAILURES
    assert statuses.count(302) == services.MAX_FAILURES
    assert _audited(db, "twofactor.failed") == services.MAX_FAILURES


def test_a_code_of_an_earlier_step_than_one_used_is_refused(app, db, factory):
    person = factory.person("ada@example.com")
    secret = services.start_enrolment(person)
    now = datetime.now(UTC)
    services.enable(person, pyotp.TOTP(secret).at(now + timedelta(seconds=30)), now)
    with pytest.raises(ValidationError):
        services.check_code(person, pyotp.TOTP(secret).at(now), now)


def test_the_code_that_turned_it_on_cannot_sign_in(app, db, factory):
    person = factory.person("ada@example.com")
    secret = services.start_enrolment(person)
    now = datetime.now(UTC)
    code = pyotp.TOTP(secret).at(now)
    services.enable(person, code, now)
    with pytest.raises(ValidationError):
        services.check_code(person, code, now)


def test_a_recovery_code_signs_in_once(app, db, factory):
    person = factory.person("ada@example.com")
    _secret, codes = _enrolled(db, person)
    first = _browser(app)
    _password_step(first, person.email)
    # Typed in capitals without the dash, it is the same code.
    assert first.post("/login/two-factor", data={"code": codes[3].upper().replace("-", "")}).status_code == 302
    assert _signed_in(first)
    assert _audited(db, "twofactor.recovery_used") == 1
    second = _browser(app)
    _password_step(second, person.email)
    assert second.post("/login/two-factor", data={"code": codes[3]}).status_code == 422
    assert not _signed_in(second)
    assert second.post("/login/two-factor", data={"code": codes[4]}).status_code == 302
    assert services.unused_recovery_codes(person) == 8


def test_without_a_pending_sign_in_the_code_page_sends_back_to_sign_in(app, client):
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "expired" in client.get("/login").text


def test_a_pending_sign_in_older_than_five_minutes_is_refused(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email)
    with browser.session_transaction() as cookie:
        cookie[auth.PENDING_KEY] = {**cookie[auth.PENDING_KEY], "at": time.time() - 5 * 60 - 1}
    response = browser.post("/login/two-factor", data={"code": _code(secret)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _signed_in(browser)


def test_after_five_wrong_codes_the_password_must_be_typed_again(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email)
    wrong = _wrong_code(secret)
    for _i in range(4):
        assert browser.post("/login/two-factor", data={"code": wrong}).status_code == 422
    response = browser.post("/login/two-factor", data={"code": wrong})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # The right code no longer helps: the pending sign-in is gone.
    assert browser.post("/login/two-factor", data={"code": _code(secret)}).headers["Location"] == "/login"
    assert not _signed_in(browser)


def test_many_wrong_codes_refuse_every_code_for_a_while_whatever_the_cookie(app, db, factory):
    person = factory.person("ada@example.com")
    secret, _codes = _enrolled(db, person)
    now = datetime.now(UTC)
    for _i in range(services.MAX_FAILURES):
        with pytest.raises(ValidationError):
            services.check_code(person, _wrong_code(secret), now)
    with pytest.raises(TooManyAttempts):
        services.check_code(person, _code(secret), now)
    later = now + services.FAILURE_WINDOW + timedelta(seconds=1)
    services.check_code(person, pyotp.TOTP(secret).at(later), later)


# --- Managing it -----------------------------------------------------------------------------

def _signed_in_with_two_factor(app, db, factory):
    person = factory.person("ada@example.com")
    secret, codes = _enrolled(db, person)
    browser = _browser(app)
    _password_step(browser, person.email)
    assert browser.post("/login/two-factor", data={"code": _code(secret)}).status_code == 302
    return person, secret, codes, browser


def test_turning_it_off_needs_the_password_or_a_code(app, db, factory):
    person, _secret, _codes, browser = _signed_in_with_two_factor(app, db, factory)
    page = browser.get("/settings/two-factor")
    assert page.status_code == 200 and "Turn off two-factor sign-in" in page.text
    response = browser.post("/settings/two-factor/disable", data={})
    assert response.status_code == 422 and 'id="disable-code-error"' in response.text
    response = browser.post("/settings/two-factor/disable", data={"disable-password": "not my password"})
    assert response.status_code == 422 and 'id="disable-password-error"' in response.text
    db.session.refresh(person)
    assert person.has_two_factor
    response = browser.post("/settings/two-factor/disable", data={"disable-password": PASSWORD})
    assert response.status_code == 302
    db.session.refresh(person)
    assert not person.has_two_factor and person.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert _audited(db, "twofactor.disabled") == 1
    # Now the password alone signs in.
    again = _browser(app)
    assert _password_step(again, person.email).headers["Location"] == "/"


def test_turning_it_off_with_a_code_from_the_app(app, db, factory):
    person, secret, _codes, browser = _signed_in_with_two_factor(app, db, factory)
    response = browser.post("/settings/two-factor/disable", data={"disable-code": _code(secret, 1)})
    assert response.status_code == 302
    db.session.refresh(person)
    assert not person.has_two_factor


def test_new_recovery_codes_replace_the_old_ones(app, db, factory):
    person, secret, codes, browser = _signed_in_with_two_factor(app, db, factory)
    assert browser.post("/settings/two-factor/recovery-codes", data={"renew-code": "abc"}).status_code == 422
    response = browser.post("/settings/two-factor/recovery-codes", data={"renew-code": _code(secret, 1)})
    assert response.status_code == 200
    fresh = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", response.text)
    assert len(fresh) == 10
    assert _audited(db, "twofactor.recovery_renewed") == 1
    now = datetime.now(UTC)
    with pytest.raises(ValidationError):
        services.check_code(person, codes[0], now)
    services.check_code(person, fresh[0], now)


# --- The gate for HR admins ------------------------------------------------------------------

@pytest.fixture
def required(app):
    app.config["POLSO_REQUIRE_2FA"] = "hr_admin"


@pytest.mark.parametrize("path", ["/", "/people", "/settings", "/surveys", "/audit", "/login", "/methodology"])
def test_an_hr_admin_without_two_factor_is_sent_to_set_it_up_first(app, db, factory, required, path):
    hr = factory.person("hr@example.com", role="hr_admin")
    browser = _browser(app)
    _password_step(browser, hr.email)
    _forget_cached_user()
    response = browser.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/settings/two-factor"
    _forget_cached_user()
    assert browser.get("/settings/two-factor").status_code == 200


def test_the_gate_leaves_signing_out_the_language_static_files_and_the_api_alone(app, db, factory, required):
    from people import signin

    hr = factory.person("hr@example.com", role="hr_admin")
    # A token made before the setting (a password alone cannot make one now: see test_sessions).
    headers = {"Authorization": f"Bearer {signin.issue_api_token(hr, datetime.now(UTC))}"}
    browser = _browser(app)
    _password_step(browser, hr.email)
    _forget_cached_user()
    assert browser.get("/api/v1/employees", headers=headers).status_code == 200
    _forget_cached_user()
    assert browser.get("/static/favicon.svg").status_code == 200
    _forget_cached_user()
    assert browser.post("/language/it", data={"next": "/login"}).headers["Location"] == "/login"
    _forget_cached_user()
    assert browser.post("/logout").headers["Location"] == "/login"


def test_an_employee_is_not_held_by_the_gate(app, db, factory, required):
    person = factory.person("ada@example.com")
    browser = _browser(app)
    _password_step(browser, person.email)
    assert _signed_in(browser)


def test_after_setting_it_up_the_hr_admin_gets_in_and_cannot_turn_it_off(app, db, factory, required):
    hr = factory.person("hr@example.com", role="hr_admin")
    browser = _browser(app)
    _password_step(browser, hr.email)
    _forget_cached_user()
    browser.get("/settings/two-factor")
    db.session.refresh(hr)
    _forget_cached_user()
    assert browser.post("/settings/two-factor", data={"code": _code(hr.totp_secret)}).status_code == 200
    _forget_cached_user()
    assert browser.get("/people").status_code == 200
    _forget_cached_user()
    page = browser.get("/settings/two-factor").text
    assert "HR admins must keep two-factor sign-in on here." in page
    _forget_cached_user()
    response = browser.post("/settings/two-factor/disable", data={"disable-password": PASSWORD})
    assert response.status_code == 302
    db.session.refresh(hr)
    assert hr.has_two_factor


def test_without_the_setting_an_hr_admin_is_not_held(app, db, factory):
    hr = factory.person("hr@example.com", role="hr_admin")
    browser = _browser(app)
    _password_step(browser, hr.email)
    _forget_cached_user()
    assert browser.get("/people").status_code == 200


# --- In a real browser -----------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}


def _fits_a_phone(page) -> bool:
    page.set_viewport_size(PHONE)
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.browser
def test_setting_it_up_and_signing_in_with_a_code_in_chromium(page, factory):
    factory.person("ada@example.com", name="Ada Lovelace")
    page.goto("/login")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome, Ada Lovelace").wait_for()

    page.goto("/settings")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("heading", name="Two-factor sign-in").wait_for()
    assert page.get_by_role("img", name="QR code to scan with your authenticator app").is_visible()
    assert axe_violations(page) == []
    assert _fits_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    assert axe_violations(page) == []

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Two-factor sign-in").wait_for()
    assert axe_violations(page) == []
    page.get_by_label("Code").fill("123")
    page.get_by_role("button", name="Verify").click()
    page.locator("#code-error").wait_for()
    assert axe_violations(page) == []
    assert _fits_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    # The code of the next step: the current one turned two-factor on and is used up.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Welcome, Ada Lovelace").wait_for()

    page.goto("/settings/two-factor")
    assert axe_violations(page) == []
    assert _fits_a_phone(page)
    # The refused code's 422 is the only thing the console reports.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
    assert page.foreign_requests == []


def test_turning_it_on_signs_out_every_other_browser_but_keeps_this_one(app, db, factory):
    person = factory.person("ada@example.com")
    elsewhere, here = _browser(app), _browser(app)
    _password_step(elsewhere, person.email)
    _forget_cached_user()
    _password_step(here, person.email)
    _forget_cached_user()
    here.get("/settings/two-factor")  # the secret waits on the person's row
    db.session.refresh(person)
    _forget_cached_user()
    assert here.post("/settings/two-factor", data={"code": _code(person.totp_secret)}).status_code == 200
    assert _signed_in(here)
    assert not _signed_in(elsewhere)  # signed in with the password alone
