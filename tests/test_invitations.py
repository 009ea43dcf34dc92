"""Invitations to sign in and "forgot password": one-time links that set a password.

HR invites from the People page, the CSV import and the API; the e-mail goes through the outbox in
the person's language and carries a random link, stored hashed, that works once for 7 days. The
"forgot password" form answers the same for any address, is rate limited, and sends a one-hour link.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

from audit.models import AuditEvent
from mail.models import OutboxMessage
from mail.services import send_all_pending
from people import credentials
from people.models import ApiToken, CredentialLink, Person, ResetRequest, SignInSession
from tests.conftest import PASSWORD

NEW_PASSWORD = "copper meadow violin tundra"
LINK = re.compile(r"https?://[^/\s]+(/password/[A-Za-z0-9_\-]+)")


def _fresh(app):
    """A new browser. The test app context outlives requests and Flask-Login caches the user on g
    (see test_sessions); production has a fresh g per request, so this browser forgets it on each."""
    browser = app.test_client()
    send = browser.open

    def open_forgetting_the_cached_user(*args, **kwargs):
        g.pop("_login_user", None)
        return send(*args, **kwargs)

    browser.open = open_forgetting_the_cached_user
    return browser


def _outbox(db, kind):
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


def _link_in(message: OutboxMessage) -> str:
    return LINK.search(message.body_text).group(1)


@pytest.fixture
def hr_browser(app, factory):
    factory.person("hr@example.com", role="hr_admin")
    browser = _fresh(app)
    assert browser.post("/login", data={"email": "hr@example.com", "password": PASSWORD}).status_code == 302
    return browser


def _invite_by_api(client, api_token, person_id):
    return client.post(f"/api/v1/employees/{person_id}/invite", headers=api_token("hr@example.com"))


# --- the invitation -------------------------------------------------------------------------------

def test_an_invitation_is_one_hashed_link_in_an_email_in_the_persons_language(app, db, factory, hr_browser):
    person = factory.person("lia@example.com", name="Lia", password=None, locale="it")
    response = hr_browser.post("/people/invite", data={"person_ids": [str(person.id)]})
    assert response.status_code == 302

    (message,) = _outbox(db, "account_invitation")
    assert message.to_address == "lia@example.com"
    assert "Gentile Lia" in message.body_text and "password" in message.body_text.lower()
    path = _link_in(message)
    raw = path.rsplit("/", 1)[1]
    (link,) = db.session.scalars(sa.select(CredentialLink)).all()
    assert link.purpose == "invitation" and link.person_id == person.id
    assert link.key_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in link.key_hash
    assert link.expires_at - link.created_at == timedelta(days=7)
    assert len(raw) >= 40  # 32 random bytes
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.invited"))
    assert (event.actor_email, event.summary) == ("hr@example.com", "lia@example.com")


def test_following_the_link_sets_the_password_and_signs_the_person_in(app, db, factory, hr_browser):
    person = factory.person("lia@example.com", name="Lia", password=None)
    hr_browser.post(f"/people/{person.id}/invite")
    path = _link_in(_outbox(db, "account_invitation")[0])

    browser = _fresh(app)
    page = browser.get(path)
    assert page.status_code == 200 and "Welcome to Polso, Lia" in page.text
    assert page.headers["Referrer-Policy"] == "strict-origin" and "no-store" in page.headers["Cache-Control"]
    response = browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert browser.get("/settings").status_code == 200  # signed in
    db.session.refresh(person)
    assert person.check_password(NEW_PASSWORD)
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["password.set", "signin.password"]
    assert _fresh(app).post("/login", data={"email": person.email, "password": NEW_PASSWORD}).status_code == 302


def test_a_second_use_an_expired_link_and_a_tampered_link_each_say_why(app, db, factory, hr_browser):
    person = factory.person("lia@example.com", password=None)
    hr_browser.post(f"/people/{person.id}/invite")
    path = _link_in(_outbox(db, "account_invitation")[0])
    browser = _fresh(app)
    assert browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302

    again = _fresh(app).get(path)
    assert again.status_code == 410 and "already used" in again.text
    second = {"password": "another fine passphrase", "confirm": "another fine passphrase"}
    assert _fresh(app).post(path, data=second).status_code == 410

    tampered = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    refused = _fresh(app).get(tampered)
    assert refused.status_code == 404 and "not valid" in refused.text

    other = factory.person("bo@example.com", password=None)
    hr_browser.post(f"/people/{other.id}/invite")
    expired_path = _link_in(_outbox(db, "account_invitation")[-1])
    db.session.execute(sa.update(CredentialLink).where(CredentialLink.person_id == other.id)
                       .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.session.commit()
    expired = _fresh(app).post(expired_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert expired.status_code == 410 and "expired" in expired.text and "Ask HR" in expired.text
    db.session.refresh(other)
    assert other.password_hash is None


@pytest.mark.parametrize(("password", "confirm", "says"), [
    (NEW_PASSWORD, NEW_PASSWORD + " typed again wrong", "The two passwords are not the same."),
    ("", "", "This field is required."),
    ("short", "short", "at least 12"),
    ("password1234", "password1234", "too common"),
    ("x" * 300, "x" * 300, "at most 256"),
])
def test_a_refused_password_is_a_form_error_and_the_link_still_works(app, db, factory, hr_browser, password, confirm,
                                                                      says):
    person = factory.person("lia@example.com", password=None)
    hr_browser.post(f"/people/{person.id}/invite")
    path = _link_in(_outbox(db, "account_invitation")[0])
    browser = _fresh(app)
    response = browser.post(path, data={"password": password, "confirm": confirm})
    assert response.status_code == 422 and says in response.text
    db.session.refresh(person)
    assert person.password_hash is None
    assert db.session.scalar(sa.select(CredentialLink.used_at)) is None
    assert browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_sending_again_replaces_the_earlier_link(app, db, factory, hr_browser):
    person = factory.person("lia@example.com", password=None)
    hr_browser.post(f"/people/{person.id}/invite")
    first = _link_in(_outbox(db, "account_invitation")[0])
    hr_browser.post(f"/people/{person.id}/invite")
    second = _link_in(_outbox(db, "account_invitation")[1])
    assert first != second
    assert _fresh(app).get(first).status_code == 404
    assert _fresh(app).get(second).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CredentialLink)) == 1


def test_the_people_page_shows_who_is_invited_accepted_or_expired_and_invites_everyone_not_yet_invited(
        app, db, factory, hr_browser):
    factory.person("waiting@example.com", name="Waiting", password=None)
    invited = factory.person("invited@example.com", name="Invited", password=None)
    expired = factory.person("expired@example.com", name="Expired", password=None)
    accepted = factory.person("accepted@example.com", name="Accepted", password=None)
    factory.person("inactive@example.com", name="Inactive", password=None, active=False)
    now = datetime.now(UTC)
    credentials.invite_many([invited, expired, accepted], by=None, now=now)
    db.session.execute(sa.update(CredentialLink).where(CredentialLink.person_id == expired.id)
                       .values(expires_at=now - timedelta(minutes=1)))
    db.session.execute(sa.update(CredentialLink).where(CredentialLink.person_id == accepted.id).values(used_at=now))
    db.session.commit()

    page = hr_browser.get("/people").text
    rows = {name: re.search(rf">{name}</a>.*?</tr>", page, re.S).group(0) for name in
            ("Waiting", "Invited", "Expired", "Accepted", "Inactive")}
    assert "Not invited" in rows["Waiting"] and "invite-" in page
    assert ">Invited<" in rows["Invited"]
    assert "Invitation expired" in rows["Expired"]
    assert "Accepted" in rows["Accepted"]
    assert "Invite everyone not yet invited (2 people)" in page  # waiting and expired; not the inactive one

    assert hr_browser.post("/people/invite", data={"everyone": "1"}).status_code == 302
    sent_to = [m.to_address for m in _outbox(db, "account_invitation")[3:]]
    assert sorted(sent_to) == ["expired@example.com", "waiting@example.com"]
    assert credentials.not_yet_invited(datetime.now(UTC)) == []


def test_hr_cannot_invite_someone_inactive_or_who_can_sign_in_already(app, db, factory, hr_browser, client,
                                                                      api_token):
    has_password = factory.person("can@example.com")
    inactive = factory.person("gone@example.com", password=None, active=False)
    for person in (has_password, inactive):
        response = hr_browser.post(f"/people/{person.id}/invite", follow_redirects=True)
        assert response.status_code == 200 and "alert-danger" in response.text
        answer = _invite_by_api(client, api_token, person.id)
        assert answer.status_code == 409, answer.get_json()
    assert _outbox(db, "account_invitation") == []
    assert _invite_by_api(client, api_token, 999999).status_code == 404
    ticked = hr_browser.post("/people/invite", data={"person_ids": [str(has_password.id)]}, follow_redirects=True)
    assert "1 person was not invited" in ticked.text
    assert hr_browser.post("/people/invite", data={"person_ids": ["abc"]}).status_code == 422
    assert _outbox(db, "account_invitation") == []


def test_only_hr_can_invite(app, db, factory, client, api_token):
    factory.person("emp@example.com")
    target = factory.person("new@example.com", password=None)
    browser = _fresh(app)
    browser.post("/login", data={"email": "emp@example.com", "password": PASSWORD})
    assert browser.post(f"/people/{target.id}/invite").status_code == 403
    assert browser.post("/people/invite", data={"everyone": "1"}).status_code == 403
    assert client.post(f"/api/v1/employees/{target.id}/invite", headers=api_token("emp@example.com")).status_code == 403
    assert _outbox(db, "account_invitation") == []


def test_the_csv_import_can_invite_the_people_it_adds(app, db, factory, hr_browser):
    factory.person("old@example.com", name="Old")  # can sign in already: not invited again
    csv = b"email,name,locale\nnew1@example.com,New One,it\nnew2@example.com,New Two,\nold@example.com,Old,\n"
    response = hr_browser.post("/people/import", data={"file": (io.BytesIO(csv), "people.csv"), "invite": "y"},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    messages = _outbox(db, "account_invitation")
    assert sorted(m.to_address for m in messages) == ["new1@example.com", "new2@example.com"]
    italian = next(m for m in messages if m.to_address == "new1@example.com")
    assert "Gentile New One" in italian.body_text

    again = b"email,name\nnew3@example.com,New Three\n"
    hr_browser.post("/people/import", data={"file": (io.BytesIO(again), "people.csv")},
                    content_type="multipart/form-data")
    assert len(_outbox(db, "account_invitation")) == 2  # without the option, nobody is invited


def test_adding_a_person_on_the_page_invites_them_unless_unticked(app, db, factory, hr_browser):
    form = {"name": "Nia", "email": "nia@example.com", "role": "employee", "kind": "employee", "locale": "",
            "department_id": "0", "invite": "y"}
    assert hr_browser.post("/people/new", data=form).status_code == 302
    assert [m.to_address for m in _outbox(db, "account_invitation")] == ["nia@example.com"]
    form = {**form, "name": "Noa", "email": "noa@example.com"}
    del form["invite"]
    assert hr_browser.post("/people/new", data=form).status_code == 302
    assert len(_outbox(db, "account_invitation")) == 1


def test_the_api_invites_on_create_and_reports_sign_in_status(app, db, factory, client, api_token):
    factory.person("hr@example.com", role="hr_admin")
    headers = api_token("hr@example.com")
    created = client.post("/api/v1/employees", headers=headers,
                          json={"email": "api@example.com", "name": "Api", "invite": True})
    assert created.status_code == 201 and created.get_json()["sign_in"] == "invited"
    assert [m.to_address for m in _outbox(db, "account_invitation")] == ["api@example.com"]
    plain = client.post("/api/v1/employees", headers=headers, json={"email": "quiet@example.com", "name": "Q"})
    assert plain.get_json()["sign_in"] == "not_invited"

    person_id = plain.get_json()["id"]
    again = client.post(f"/api/v1/employees/{person_id}/invite", headers=headers)
    assert again.status_code == 200 and again.get_json()["sign_in"] == "invited"
    listed = {e["email"]: e["sign_in"] for e in client.get("/api/v1/employees", headers=headers).get_json()["items"]}
    assert listed == {"hr@example.com": "password", "api@example.com": "invited", "quiet@example.com": "invited"}

    bad = client.post("/api/v1/employees", headers=headers,
                      json={"email": "b@example.com", "name": "B", "invite": "yes"})
    assert bad.status_code in (400, 422) and "invite" in bad.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(Person).where(Person.email == "b@example.com")) is None


def test_a_sent_invitation_leaves_no_working_link_in_the_database(app, db, factory, smtp):
    person = factory.person("lia@example.com", password=None)
    credentials.invite_many([person], by=None, now=datetime.now(UTC))
    assert send_all_pending(datetime.now(UTC)).sent == 1
    assert _outbox(db, "account_invitation") == []  # deleted once sent, like survey invitations
    (mailed,) = smtp.messages
    assert LINK.search(mailed.get_body(("plain",)).get_content())


def test_the_link_never_reaches_a_log(app, db, factory, caplog, hr_browser):
    from logs import redact

    person = factory.person("lia@example.com", password=None)
    hr_browser.post(f"/people/{person.id}/invite")
    path = _link_in(_outbox(db, "account_invitation")[0])
    assert redact(f'"GET {path} HTTP/1.1" 200') == '"GET /password/[redacted] HTTP/1.1" 200'


def test_single_sign_on_people_get_an_invitation_to_the_sign_in_page_and_the_link_sets_no_password(app, db,
                                                                                                   factory):
    app.config.update(POLSO_PASSWORD_LOGIN="admins", OIDC_PROVIDER_NAME="Contoso ID")
    person = factory.person("lia@example.com", password=None)
    credentials.invite_many([person], by=None, now=datetime.now(UTC))
    (message,) = _outbox(db, "account_invitation")
    assert "Sign in with Contoso ID" in message.body_text and "/login" in message.body_text
    assert not LINK.search(message.body_text)
    link = db.session.scalar(sa.select(CredentialLink))
    raw = "x" * 43
    link.key_hash = hashlib.sha256(raw.encode()).hexdigest()
    db.session.commit()
    refused = _fresh(app).post(f"/password/{raw}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert refused.status_code == 403 and "Contoso ID" in refused.text
    db.session.refresh(person)
    assert person.password_hash is None


# --- forgot password ------------------------------------------------------------------------------

def _forgot(app, email, **kwargs):
    return _fresh(app).post("/login/forgot", data={"email": email}, **kwargs)


def test_forgot_password_answers_the_same_whether_or_not_the_address_exists(app, db, factory):
    factory.person("ada@example.com")
    known, unknown = _forgot(app, "ada@example.com"), _forgot(app, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ada@example.com", "@") == unknown.text.replace("nobody@example.com", "@")
    assert [m.to_address for m in _outbox(db, "password_reset")] == ["ada@example.com"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetRequest)) == 2  # both counted


def test_forgot_password_is_rate_limited_per_address_typed_whether_or_not_it_exists(app, db, factory):
    factory.person("ada@example.com")
    for email in ("ada@example.com", "nobody@example.com"):
        for _ in range(credentials.RESETS_PER_EMAIL):
            assert _forgot(app, email).status_code == 200
        limited = _forgot(app, email)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3600"
        assert "Too many reset requests" in limited.text
    assert len(_outbox(db, "password_reset")) == credentials.RESETS_PER_EMAIL
    # An hour later the address may ask again.
    db.session.execute(sa.update(ResetRequest).values(at=datetime.now(UTC) - timedelta(hours=1, seconds=1)))
    db.session.commit()
    assert _forgot(app, "ada@example.com").status_code == 200


def test_forgot_password_is_rate_limited_per_client_address_high_enough_for_an_office(app, db):
    for n in range(credentials.RESETS_PER_ADDRESS):
        assert _forgot(app, f"p{n}@example.com").status_code == 200
    assert _forgot(app, "one.more@example.com").status_code == 429
    other_office = _fresh(app).post("/login/forgot", data={"email": "x@example.com"},
                                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_office.status_code == 200


def test_a_bad_address_is_a_form_error(app, db):
    for bad in ("", "not an address", "a@" + "b" * 300 + ".com"):
        response = _forgot(app, bad)
        assert response.status_code == 422 and "invalid-feedback" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetRequest)) == 0


def test_a_reset_link_works_once_for_an_hour_and_signs_out_everywhere(app, db, factory, client, api_token):
    person = factory.person("ada@example.com", locale="it")
    other_browser = _fresh(app)
    other_browser.post("/login", data={"email": person.email, "password": PASSWORD})
    token = api_token(person.email)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInSession)) == 1

    _forgot(app, person.email)
    (message,) = _outbox(db, "password_reset")
    assert "Gentile" in message.body_text and "60" in message.body_text
    link = db.session.scalar(sa.select(CredentialLink))
    assert link.purpose == "reset" and link.expires_at - link.created_at == timedelta(hours=1)
    path = _link_in(message)
    browser = _fresh(app)
    assert browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302

    # Every other session and every API token is gone; the browser that reset is signed in anew.
    sessions = db.session.scalars(sa.select(SignInSession)).all()
    assert len(sessions) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert other_browser.get("/settings").status_code == 302
    assert client.get("/api/v1/employees", headers=token).status_code == 401
    assert _fresh(app).get(path).status_code == 410
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert "password.reset_requested" in actions and "password.reset" in actions


def test_a_reset_link_expires_after_an_hour(app, db, factory):
    factory.person("ada@example.com")
    _forgot(app, "ada@example.com")
    path = _link_in(_outbox(db, "password_reset")[0])
    db.session.execute(sa.update(CredentialLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.session.commit()
    response = _fresh(app).get(path)
    assert response.status_code == 410 and "expired" in response.text


def test_no_reset_mail_for_an_inactive_person_or_one_on_single_sign_on(app, db, factory):
    factory.person("gone@example.com", active=False)
    factory.person("emp@example.com")
    factory.person("hr@example.com", role="hr_admin")
    app.config["POLSO_PASSWORD_LOGIN"] = "admins"
    for email in ("gone@example.com", "emp@example.com", "hr@example.com"):
        assert _forgot(app, email).status_code == 200
    assert [m.to_address for m in _outbox(db, "password_reset")] == ["hr@example.com"]


def test_housekeeping_forgets_old_reset_requests(app, db):
    import tasks

    now = datetime.now(UTC)
    db.session.add_all([ResetRequest(email="a@example.com", at=now - timedelta(hours=2)),
                        ResetRequest(email="b@example.com", at=now - timedelta(minutes=5))])
    db.session.commit()
    assert tasks.housekeeping(now)["reset_requests_purged"] == 1
    assert db.session.scalars(sa.select(ResetRequest.email)).all() == ["b@example.com"]


def test_an_sso_sign_in_accepts_an_open_invitation(app, db, factory):
    from people import auth

    person = factory.person("lia@example.com", password=None)
    credentials.invite_many([person], by=None, now=datetime.now(UTC))
    with app.test_request_context("/"):
        auth.start_session(person, method="oidc", remember=False, now=datetime.now(UTC))
    link = credentials.latest_invitations([person.id])[person.id]
    assert credentials.sign_in_status(person, link, datetime.now(UTC)) == "accepted"


# --- end to end: a real SMTP server and Chromium --------------------------------------------------

def test_hr_invites_on_the_page_the_mail_arrives_and_the_link_sets_a_password_in_chromium(
        app, db, factory, smtp, browser, page, live_server):
    app.config["POLSO_BASE_URL"] = live_server
    factory.person("hr@example.com", role="hr_admin")
    factory.person("lia@example.com", name="Lia Rossi", password=None)

    page.goto("/login")
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/people")
    page.get_by_label("Invite Lia Rossi").check()
    page.get_by_role("button", name="Invite the people ticked").click()
    page.get_by_text("An invitation to sign in was sent to 1 person.").wait_for()
    assert "Invited" in page.locator("tr", has_text="Lia Rossi").inner_text()

    assert send_all_pending(datetime.now(UTC)).sent == 1
    (mailed,) = smtp.messages
    assert mailed["To"] == "lia@example.com"
    url = re.search(r"http://\S+/password/\S+", mailed.get_body(("plain",)).get_content()).group(0)
    html_url = re.search(r'href="(http://[^"]+/password/[^"]+)"', mailed.get_body(("html",)).get_content()).group(1)
    assert url == html_url and url.startswith(live_server)

    invitee = browser.new_context(base_url=live_server, locale="en-GB").new_page()
    invitee.goto(url)
    invitee.get_by_label("New password").fill(NEW_PASSWORD)
    invitee.get_by_label("Type it again").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Set my password").click()
    invitee.get_by_text("Your password is set. Welcome to Polso.").wait_for()
    assert "/password/" not in invitee.url
    invitee.get_by_role("button", name="Sign out").click()
    invitee.goto("/login")
    invitee.get_by_label("E-mail").fill("lia@example.com")
    invitee.get_by_label("Password").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Sign in").click()
    invitee.wait_for_url(lambda u: "/login" not in u)

    invitee.goto(url)  # a second use
    assert invitee.get_by_role("alert").inner_text().startswith("This link was already used.")
    invitee.goto(url[:-3] + "zzz")  # tampered
    assert "This link is not valid" in invitee.get_by_role("alert").inner_text()
    page.goto("/people")
    assert "Accepted" in page.locator("tr", has_text="Lia Rossi").inner_text()
    assert page.console_errors == [] and page.foreign_requests == []
