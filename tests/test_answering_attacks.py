"""Attacks on the fast answering path, the bulk tick and the request-teardown rollback (issue 17's red team).

The answering path reads plain rows from statements built once, the tick writes by COPY, and errors.py
ends a request's transaction at teardown: each test fails if the hole it probes exists."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

import tasks
from extensions import db as _db
from mail import services as mail
from mail.models import OutboxMessage
from people.models import ApiToken, Person
from surveys import building, invitations, links, periodic, rounds
from surveys.models import Answer, Ballot, Invitation, Response, Round
from tests.conftest import personal_token

NOW = datetime.now(UTC)


def tick(now, **kwargs):
    return periodic.tick(now, on_close=tasks.store_results, send_mail=False, **kwargs)


@pytest.fixture
def setup(factory):
    dept = factory.department("Engineering")
    other = factory.department("Sales")
    boss = factory.person("boss@example.com", department=dept)
    ada = factory.person("ada@example.com", name="Ada", department=dept, manager=boss,
                         hired_on=NOW.date() - timedelta(days=800))
    outsider = factory.person("out@example.com", department=other)
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "audience_department_id": dept.id,
                                     "questions": [{"library_key": "enps", "required": True},
                                                   {"kind": "text", "text": "Anything else?"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    invitation = invitations.invitation_for(ada, round_.id)
    q = {question.kind: question.id for question in survey.questions}
    return {"ada": ada, "boss": boss, "outsider": outsider, "survey": survey, "round": round_,
            "round_id": round_.id, "invitation_id": invitation.id, "q": q, "token": personal_token(invitation.id)}


def stored():
    _db.session.expire_all()
    return (_db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
            + _db.session.scalar(sa.select(sa.func.count()).select_from(Response)),
            _db.session.scalars(sa.select(Invitation.answered).order_by(Invitation.id)).all())


def body(setup, enps=7, text="ok"):
    return {"answers": [{"question_id": setup["q"]["enps"], "value": enps},
                        {"question_id": setup["q"]["text"], "value": text}]}


def url(setup):
    return f"/api/v1/rounds/{setup['round_id']}/responses"


# --- 1. The answering path ----------------------------------------------------------------------------

def test_token_of_a_person_made_inactive_cannot_answer(client, setup, api_token, db):
    headers = api_token("ada@example.com")
    before = stored()
    db.session.execute(sa.update(Person).where(Person.email == "ada@example.com").values(active=False))
    db.session.commit()
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 401
    assert stored() == before


def test_expired_token_cannot_answer_and_a_nearly_expired_one_can(client, setup, api_token, db):
    headers = api_token("ada@example.com")
    before = stored()
    db.session.execute(sa.update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.session.commit()
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 401
    assert stored() == before
    # Compared in the database as a UTC time (SQLite keeps a naive string): one minute left is still valid.
    db.session.execute(sa.update(ApiToken).values(expires_at=datetime.now(UTC) + timedelta(minutes=1)))
    db.session.commit()
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 201


def test_revoked_token_cannot_answer(client, setup, api_token, db):
    headers = api_token("ada@example.com")
    db.session.execute(sa.delete(ApiToken))
    db.session.commit()
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 401
    assert stored()[0] == 0


def test_a_person_not_invited_cannot_answer_anyone_elses_round(client, setup, api_token):
    before = stored()
    response = client.post(url(setup), json=body(setup), headers=api_token("out@example.com"))
    assert response.status_code == 403
    assert stored() == before
    # Ada is still free to answer hers: the outsider's attempt claimed nothing.
    assert client.post(url(setup), json=body(setup), headers=api_token("ada@example.com")).status_code == 201


def test_no_token_is_401_before_anything_about_the_round(client, setup):
    assert client.post(url(setup), json=body(setup)).status_code == 401
    assert client.post("/api/v1/rounds/999999/responses", json=body(setup)).status_code == 401
    assert client.post(url(setup), json=body(setup), headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("change", ["past_window_still_open", "not_yet_open", "closed_status"])
def test_round_outside_its_window_refuses_api_and_form(client, setup, api_token, db, change):
    headers = api_token("ada@example.com")
    values = {"past_window_still_open": {"closes_at": NOW - timedelta(minutes=1), "opens_at": NOW - timedelta(days=2)},
              "not_yet_open": {"opens_at": datetime.now(UTC) + timedelta(hours=1)},
              "closed_status": {"status": "closed"}}[change]
    db.session.execute(sa.update(Round).where(Round.id == setup["round_id"]).values(**values))
    db.session.commit()
    before = stored()
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 409
    response = client.post("/s/answer", data={"token": setup["token"], f"q{setup['q']['enps']}": "7"})
    assert response.status_code in (409, 410)
    assert stored() == before


def test_double_answer_api_then_form_then_api(client, setup, api_token):
    headers = api_token("ada@example.com")
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 201
    form = client.post("/s/answer", data={"token": setup["token"], f"q{setup['q']['enps']}": "3"})
    assert (form.status_code == 200 and b"already" in form.data.lower()) or form.status_code == 409
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 409
    assert stored()[0] == 1


def test_invalid_answer_stores_nothing_and_leaves_the_invitation_usable(client, setup, api_token):
    headers = api_token("ada@example.com")
    before = stored()
    assert client.post(url(setup), json=body(setup, enps=11), headers=headers).status_code == 422
    assert stored() == before
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 201
    assert stored()[0] == 1


def test_question_list_cached_on_a_connection_is_the_current_one(client, setup, api_token, db, factory):
    """A survey edited (questions added) before its first round, on a connection that has already answered
    another survey: the second survey's questions are read fresh, not mixed up with the first's."""
    headers = api_token("ada@example.com")
    assert client.post(url(setup), json=body(setup), headers=headers).status_code == 201
    second = building.create_survey({"title": "Second", "cadence": "weekly",
                                     "audience_department_id": setup["ada"].department_id, "questions": [
        {"kind": "choice", "text": "Where?", "options": ["Office", "Home"], "required": True}]}, NOW)
    building.add_question(second, {"kind": "text", "text": "Why?"})
    round2 = rounds.open_round_now(db.session.get(type(second), second.id), NOW)
    choice, text = (q.id for q in db.session.get(type(second), second.id).questions)
    response = client.post(f"/api/v1/rounds/{round2.id}/responses", headers=headers, json={"answers": [
        {"question_id": choice, "value": "Home"}, {"question_id": text, "value": "because"}]})
    assert response.status_code == 201, response.get_json()
    # A question of the first survey is refused in the second.
    response = client.post(f"/api/v1/rounds/{round2.id}/responses", headers=api_token("boss@example.com"),
                           json={"answers": [{"question_id": setup["q"]["enps"], "value": 5}]})
    assert response.status_code == 422


def test_signed_in_answer_page_and_post_behave_as_before(client, setup, auth, db):
    auth.login("ada@example.com")
    page = client.get(f"/my/surveys/{setup['round_id']}")
    assert page.status_code == 200 and b"Anything else?" in page.data
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.data.decode())
    data = {"round": str(setup["round_id"]), f"q{setup['q']['enps']}": "9", f"q{setup['q']['text']}": "Fine"}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    bad = client.post("/s/answer", data={**data, f"q{setup['q']['enps']}": "12"})
    assert bad.status_code == 422 and stored()[0] == 0
    done = client.post("/s/answer", data=data)
    assert done.status_code == 302 and done.headers["Location"].endswith("/s/thanks")
    assert stored()[0] == 1
    again = client.post("/s/answer", data=data)
    assert again.status_code in (200, 409) and stored()[0] == 1
    assert client.get(f"/my/surveys/{setup['round_id']}").status_code == 200  # "already answered"


def test_personal_link_of_a_person_made_inactive_does_not_answer(client, setup, db):
    """Someone who has left answers nothing, by personal link as by API token."""
    db.session.execute(sa.update(Person).where(Person.email == "ada@example.com").values(active=False))
    db.session.commit()
    client.post("/s/answer", data={"token": setup["token"], f"q{setup['q']['enps']}": "7"})
    assert stored()[0] == 0


# --- 2. The bulk tick ----------------------------------------------------------------------------------

TEXTS = ["back\\slash", "\\N", "tab\there", "new\nline", "cr\rlf", "\\.", "ünïcødé ✓", "'quote\" ,comma"]


def test_answers_stored_by_copy_are_what_was_answered(client, db, factory, api_token):
    dept = factory.department("Ops")
    people = [factory.person(f"c{i}@example.com", department=dept) for i in range(len(TEXTS))]
    survey = building.create_survey({"title": "T", "cadence": "weekly", "min_group_size": 3, "questions": [
        {"library_key": "enps"}, {"kind": "text", "text": "Say"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    enps, text = (q.id for q in survey.questions)
    for index, (person, comment) in enumerate(zip(people, TEXTS, strict=True)):
        answers = [{"question_id": text, "value": comment}]
        if index % 2:
            answers.append({"question_id": enps, "value": 0})
        assert client.post(f"/api/v1/rounds/{round_.id}/responses", json={"answers": answers},
                           headers=api_token(person.email)).status_code == 201
    round_id = round_.id
    tick(db.session.get(Round, round_id).closes_at)
    got = db.session.execute(sa.select(Answer.question_id, Answer.kind, Answer.value_int, Answer.value_text,
                                       Answer.reply_hash).join(Response).where(Response.round_id == round_id)).all()
    assert sorted(r.value_text for r in got if r.question_id == text) == sorted(t.strip() for t in TEXTS)
    assert sorted((r.value_int, r.value_text) for r in got if r.question_id == enps) == [(0, None)] * 4
    assert all(r.reply_hash is None for r in got)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer).where(Answer.value_text.is_(None),
                                                                                   Answer.question_id == text)) == 0


AWKWARD = ["Mallory\r\nBcc: eve@example.com", "polso0123456789abcdef01234567", "{{ link }} %(name)s %s",
           "<a href='x'>&amp;</a>", "", "Ann", "Ann", "O'Neil \"Q\"", "名前"]


def test_every_invitation_carries_its_own_link_and_name(app, db, factory):
    dept = factory.department("Bulk")
    people = [factory.person(f"b{i}@example.com", name=name, department=dept, locale=(None, "en", "it")[i % 3],
                             timezone=("Europe/Rome", "Asia/Tokyo")[i % 2]) for i, name in enumerate(AWKWARD)]
    survey = building.create_survey({"title": "Bulk & <co>", "cadence": "weekly", "starts_on": NOW.date().isoformat(),
                                     "questions": [{"library_key": "enps"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation")).all()
    assert len(messages) == len(people)
    seen_links = set()
    for message in messages:
        invitation = db.session.get(Invitation, int(message.dedupe_key.split(":")[1]))
        person = db.session.get(Person, invitation.person_id)
        assert invitation.round_id == round_.id and message.to_address == person.email
        [link] = set(re.findall(r"http://localhost/s/[A-Za-z0-9_-]+", message.body_text))
        assert link in message.body_html and link not in seen_links
        seen_links.add(link)
        assert links.invitation_from_token(link.rsplit("/", 1)[1]).id == invitation.id
        for other in people:
            if other.name and other.name != person.name and other.name not in person.name:
                assert other.name not in message.body_text
        assert person.name.replace("\r\n", " ") in message.body_text.replace("\r\n", " ") or not person.name
        assert "\n" not in message.subject and "\r" not in message.subject
        # No placeholder left unfilled (one is "polso" and 24 hex digits), other than in a name itself.
        for part in (message.subject, message.body_text, message.body_html):
            assert set(re.findall(r"polso[0-9a-f]{24}", part)) <= set(re.findall(r"polso[0-9a-f]{24}", person.name))


def test_anonymity_audit_passes_after_a_bulk_round(app, db, factory, api_token, client, runner):
    dept = factory.department("Audit")
    people = [factory.person(f"a{i}@example.com", department=dept) for i in range(7)]
    survey = building.create_survey({"title": "A", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    enps = survey.questions[0].id
    for person in people[:6]:
        assert client.post(f"/api/v1/rounds/{round_.id}/responses", json={"answers": [
            {"question_id": enps, "value": 8}]}, headers=api_token(person.email)).status_code == 201
    round_id = round_.id
    tick(db.session.get(Round, round_id).closes_at)
    result = runner.invoke(args=["anonymity", "audit"])
    assert result.exit_code == 0, result.output


# --- 3. The request-teardown rollback ------------------------------------------------------------------

def test_teardown_keeps_committed_work_rolls_back_the_rest_and_mail_inside_a_request(app, db, factory):
    from audit.models import AuditEvent  # noqa: F401  (the app's models are loaded)

    boss = factory.person("hr@example.com", role="hr_admin")
    boss_id = boss.id

    def commit_then_read():
        person = _db.session.get(Person, boss_id)
        person.name = "Committed"
        _db.session.commit()
        # A read after the commit: a new transaction, which teardown rolls back.
        assert _db.session.get(Person, boss_id).name == "Committed"
        return "ok"

    def write_no_commit():
        _db.session.get(Person, boss_id).locale = "it"
        return "ok"

    def mail_inside_request():
        person = _db.session.get(Person, boss_id)
        person.timezone = "Asia/Tokyo"  # written before the e-mail is rendered in its own request context
        subject, _text, _html = mail.render("test_message", "it", day=date(2026, 1, 2))
        mail.queue("x@example.com", subject, "t", kind="test", dedupe_key="redteam:1", now=datetime.now(UTC))
        _db.session.commit()
        return "ok"

    def raises():
        _db.session.get(Person, boss_id)
        raise RuntimeError("boom")

    for view in (commit_then_read, write_no_commit, mail_inside_request, raises):
        app.add_url_rule(f"/redteam/{view.__name__}", view.__name__, view)
    # A fresh app context per request, as in production (the test's own context is not shared).
    with app.test_client() as own:
        db.session.remove()
        ctx_app = app
        with ctx_app.app_context():
            pass
        assert own.get("/redteam/commit_then_read").status_code == 200
        assert own.get("/redteam/write_no_commit").status_code == 200
        assert own.get("/redteam/mail_inside_request").status_code == 200
        app.config["PROPAGATE_EXCEPTIONS"] = False
        assert own.get("/redteam/raises").status_code == 500
    db.session.expire_all()
    person = db.session.get(Person, boss_id)
    assert person.name == "Committed"
    assert person.locale is None  # never committed
    assert person.timezone == "Asia/Tokyo"  # the inner request context of the e-mail did not roll it back
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.dedupe_key == "redteam:1")) == 1


def test_a_connection_lost_during_a_copy_in_a_request_is_a_503_not_a_500(app, db, factory, api_token, client,
                                                                          monkeypatch, database_uri):
    """errors.py: a connection lost mid-request is ``Unavailable`` (503 with Retry-After), never a 500. The bulk
    writes' COPY runs on the raw psycopg cursor, outside SQLAlchemy's ``handle_error``: HR's "open now" (which
    writes invitations and links by COPY inside the request) when PostgreSQL restarts at that moment."""
    if not database_uri.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    from surveys import ballots

    dept = factory.department("Copy")
    factory.person("hr@example.com", role="hr_admin", department=dept)
    for index in range(5):
        factory.person(f"cp{index}@example.com", department=dept)
    survey = building.create_survey({"title": "C", "cadence": "weekly", "questions": [{"library_key": "enps"}]}, NOW)
    survey_id = survey.id
    headers = api_token("hr@example.com")
    admin = sa.create_engine(database_uri, poolclass=sa.pool.NullPool)
    real = ballots.insert_rows

    def lose_connection_then_copy(table, rows):
        pid = _db.session.connection().connection.driver_connection.info.backend_pid
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return real(table, rows)

    monkeypatch.setattr(ballots, "insert_rows", lose_connection_then_copy)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post(f"/api/v1/surveys/{survey_id}/rounds", headers=headers)
    admin.dispose()
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.headers.get("Retry-After")


def test_answers_do_not_wait_for_the_reminder_transaction(app, setup, api_token, database_uri, db):
    """The reminder claim (``UPDATE rounds SET reminders_queued``) holds the round's row lock while every
    reminder is rendered and written (seconds at 100,000 invitees): answers, which read that row FOR KEY SHARE,
    must not wait for it (FOR SHARE would)."""
    if not database_uri.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's")
    import threading
    import time

    headers = api_token("ada@example.com")
    engine = sa.create_engine(database_uri, poolclass=sa.pool.NullPool)
    held = threading.Event()

    def reminder_transaction():
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE rounds SET reminders_queued = true WHERE id = :r"),
                               {"r": setup["round_id"]})
            held.set()
            time.sleep(3)  # rendering and writing the reminders

    thread = threading.Thread(target=reminder_transaction)
    thread.start()
    held.wait(10)
    started = time.monotonic()
    with app.test_client() as own:
        status = own.post(url(setup), json=body(setup), headers=headers).status_code
    waited = time.monotonic() - started
    thread.join()
    engine.dispose()
    assert status == 201
    assert waited < 1.5, f"the answer waited {waited:.1f} s for the reminder transaction"
