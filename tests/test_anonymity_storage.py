"""Attacks on storage: someone with the database, its backups and the logs, after the fact.

Each test plays the attacker of docs/anonymity.md: twelve or more people
answer in a known order, and the test tries to get that order, or a person,
back out of what is stored or logged.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import tasks
from errors import Conflict, NotFound
from mail.models import OutboxMessage
from surveys import answering, building, invitations, links, rounds
from surveys.ballots import unseal
from surveys.models import Answer, Ballot, Invitation, InvitationLink, Response, Round
from tests.conftest import mix_all, personal_token, run_concurrently

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PEOPLE = 14


@pytest.fixture
def answered(factory, db):
    """Fourteen people in one team answer one by one, each a different eNPS (0, 1, ... in answering order)."""
    team = factory.department("Team")
    lead = factory.person("lead@example.com", department=team)
    people = [factory.person(f"p{i:02d}@example.com", department=team, manager=lead) for i in range(PEOPLE)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                     "questions": [{"library_key": "enps", "required": True}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    question = survey.questions[0].id
    order = []
    for index, person in enumerate(people):
        invitation = invitations.invitation_for(person, round_id)
        answering.submit_response(invitation, {question: index % 11}, NOW + timedelta(minutes=index))
        order.append(invitation.id)
        if index == 6:
            # a tick while answers arrive: the first seven are one batch
            rounds.mix_ballots(on_close=tasks.store_results)
    round_ = db.session.get(Round, round_id)
    return {"round": round_, "survey": survey, "people": people, "order": order, "question": question}


def close(answered):
    tasks.tick(answered["round"].closes_at)


def stored_values(db, round_id):
    return [v for (v,) in db.session.execute(
        sa.select(Answer.value_int).join(Response).where(Response.round_id == round_id))]


def test_answers_wait_in_the_ballot_box_and_are_mixed_in_batches_of_at_least_k(db, answered):
    round_id = answered["round"].id
    # the first seven were mixed as a batch; the other seven wait
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 7
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 7
    close(answered)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    assert sorted(stored_values(db, round_id)) == sorted(i % 11 for i in range(PEOPLE))


def test_physical_order_of_responses_is_not_the_answering_order(db, answered):
    close(answered)
    round_id = answered["round"].id
    if db.engine.dialect.name == "postgresql":
        physical = db.session.execute(sa.text(
            "SELECT a.value_int FROM responses r JOIN answers a ON a.response_id = r.id"
            " WHERE r.round_id = :r ORDER BY r.ctid"), {"r": round_id}).scalars().all()
    else:
        # WITHOUT ROWID: there is no rowid to read, and the table's own order is its random key.
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text("SELECT rowid FROM responses")).all()
        db.session.rollback()
        physical = db.session.execute(sa.text(
            "SELECT a.value_int FROM responses r JOIN answers a ON a.response_id = r.id"
            " WHERE r.round_id = :r"), {"r": round_id}).scalars().all()
    answering = [i % 11 for i in range(PEOPLE)]
    assert sorted(physical) == sorted(answering)
    assert physical != answering
    # Not just not equal: no response's place says whether it came in the first or the second half.
    first_half = set(answering[:7])
    assert [v in first_half for v in physical] != [True] * 7 + [False] * 7


def test_no_response_shares_a_transaction_id_with_a_row_that_names_a_person(db, answered):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no transaction id in rows")
    close(answered)
    tables = ["people", "invitations", "invitation_links", "outbox"]
    union = " UNION ".join(f"SELECT xmin::text FROM {t}" for t in tables)
    for table in ("responses", "answers"):
        shared = db.session.execute(sa.text(f"SELECT count(*) FROM {table} WHERE xmin::text IN ({union})")).scalar()
        assert shared == 0, table
    # and the invitations' own transaction ids no longer give the answering order
    xmins = db.session.execute(sa.text("SELECT xmin::text FROM invitations WHERE round_id = :r"),
                               {"r": answered["round"].id}).scalars().all()
    assert len(set(xmins)) == 1


def test_the_response_store_holds_no_date_or_time(db, answered):
    close(answered)
    inspector = sa.inspect(db.engine)
    for table in ("responses", "answers", "ballots"):
        for column in inspector.get_columns(table):
            assert not isinstance(column["type"], sa.Date | sa.DateTime | sa.Time), (table, column["name"])
    # no value that looks like a date either
    rows = db.session.execute(sa.text("SELECT * FROM responses")).all()
    assert not any(re.search(r"\d{4}-\d\d-\d\d", str(value)) for row in rows for value in row)


def test_closing_writes_the_whole_round_again_as_one_shuffled_batch(db, factory):
    team = factory.department("Team")
    people = [factory.person(f"q{i}@example.com", department=team) for i in range(8)]
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    for person in people[:7]:
        answering.submit_response(invitations.invitation_for(person, round_.id), {survey.questions[0].id: 5},
                                     NOW)
    rounds.mix_ballots(on_close=tasks.store_results)
    answering.submit_response(invitations.invitation_for(people[7], round_.id), {survey.questions[0].id: 0},
                                 NOW)
    before = set(db.session.scalars(sa.select(Response.id)))
    tasks.tick(round_.closes_at)
    after = set(db.session.scalars(sa.select(Response.id)))
    # the last ballot went in with every earlier response written again: the batches are gone
    assert len(after) == 8 and not after & before
    if db.engine.dialect.name == "postgresql":
        xids = db.session.execute(sa.text("SELECT DISTINCT xmin::text FROM responses WHERE round_id = :r"),
                                  {"r": round_.id}).scalars().all()
        assert len(xids) == 1


CRASH = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime, UTC
    from app import create_app
    from extensions import db
    from surveys import answering
    from surveys.models import Invitation
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
    with app.app_context():
        invitation = db.session.get(Invitation, int(sys.argv[2]))
        answering.submit_response(invitation, {int(sys.argv[3]): 9}, datetime.now(UTC))
        os.kill(os.getpid(), signal.SIGKILL)  # dies right after the ballot is committed
""")


def test_a_process_killed_after_casting_loses_no_answer(db, factory, database_uri):
    team = factory.department("Team")
    person = factory.person("solo@example.com", department=team)
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    invitation = invitations.invitation_for(person, round_.id)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.run([sys.executable, "-c", CRASH, database_uri, str(invitation.id),
                              str(survey.questions[0].id)], cwd=root, capture_output=True, timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answered is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
    tasks.tick(round_.closes_at)
    assert stored_values(db, round_.id) == [9]


def test_concurrent_double_submit_stores_one_response_before_and_after_mixing(app, db, factory):
    team = factory.department("Team")
    person = factory.person("twice@example.com", department=team)
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    invitation_id, question = invitations.invitation_for(person, round_.id).id, survey.questions[0].id

    def submit():
        with app.app_context():
            try:
                answering.submit_response(db.session.get(Invitation, invitation_id), {question: 7}, NOW)
                return "stored"
            except Conflict:
                return "refused"

    assert sorted(run_concurrently(submit, submit, submit)) == ["refused", "refused", "stored"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
    tasks.tick(round_.closes_at)
    assert stored_values(db, round_.id) == [7]
    assert submit() == "refused"
    assert stored_values(db, round_.id) == [7]


def test_a_singleton_segment_is_stored_generalised(db, factory):
    engineering = factory.department("Engineering")
    design = factory.department("Design", engineering)
    boss = factory.person("boss@example.com", department=engineering)
    team = [factory.person(f"e{i}@example.com", department=engineering, manager=boss) for i in range(6)]
    loner = factory.person("loner@example.com", department=design, manager=boss)  # the only designer
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    answering.submit_response(invitations.invitation_for(loner, round_.id), {survey.questions[0].id: 0}, NOW)
    tasks.tick(round_.closes_at)
    stored = db.session.execute(sa.select(Response.department_id, Response.manager_id, Response.tenure_band)).all()
    assert stored != [(design.id, boss.id, "5y+")]
    assert all(segment[0] != design.id for segment in stored)
    assert team


# --- Personal links and logs ----------------------------------------------------------------


def test_personal_link_tokens_are_random_and_stored_only_as_a_hash(db, answered):
    invitation_id = answered["order"][-1]
    tokens = {personal_token(invitation_id) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert len(token) >= 43  # 256 bits in URL-safe base64
    hashes = set(db.session.scalars(sa.select(InvitationLink.token_hash)))
    assert not tokens & hashes
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    # nothing decodes to an id
    with pytest.raises(NotFound):
        links.invitation_from_token("eyJpIjo0fQ")


def test_the_log_holds_no_token_and_no_answer_after_answering_by_link(app, client, db, factory, caplog):
    person = factory.person("ada@example.com", locale="it")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}, {"kind": "text", "text": "Anything else?"}]},
        datetime.now(UTC))
    caplog.set_level(logging.DEBUG)
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    tasks.tick(datetime.now(UTC))  # sends (here: logs) the invitation, link and all
    invitation = invitations.invitation_for(person, round_.id)
    token = personal_token(invitation.id)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    enps, text = (q.id for q in survey.questions)
    assert client.post("/s/answer", data={"token": token, f"q{enps}": "3",
                                          f"q{text}": "SECRET-WORDS"}).status_code == 302
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/s/[redacted]" in logged  # the invitation e-mail was logged, without its link
    assert token not in logged and "SECRET-WORDS" not in logged
    assert not re.search(r"/s/[A-Za-z0-9_\-]{16,}", logged)


def test_the_access_log_of_the_server_holds_no_token(live_server, factory, db, caplog):
    """The real development server (werkzeug) logs every request line: the link's is redacted."""
    import urllib.request

    person = factory.person("ada@example.com")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    token = personal_token(invitations.invitation_for(person, round_.id).id)
    caplog.set_level(logging.INFO, logger="werkzeug")
    with urllib.request.urlopen(f"{live_server}/s/{token}") as response:
        assert response.status == 200
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert "GET /s/[redacted]" in logged and token not in logged


def test_an_italian_invitees_link_opens_in_italian(client, factory, db):
    person = factory.person("giulia@example.com", locale="it")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    token = personal_token(invitations.invitation_for(person, round_.id).id)
    html = client.get(f"/s/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="it"' in html and "Invia le mie risposte" in html
    refused = client.post("/s/answer", data={"token": token}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and '<html lang="it"' in refused.get_data(as_text=True)


def test_the_answer_form_posts_to_a_url_without_the_token(client, factory, db):
    person = factory.person("ada@example.com")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    token = personal_token(invitations.invitation_for(person, round_.id).id)
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/s/answer"', html)
    # nor does any request from the page carry it as the Referer: the origin only
    assert client.get(f"/s/{token}").headers["Referrer-Policy"] == "strict-origin"
    assert client.post(f"/s/{token}", data={}).status_code == 405


def test_a_personal_link_can_be_answered_over_https_with_the_csrf_check_on(app_config, factory, db):
    """Over HTTPS Flask-WTF refuses a form sent without a Referer; the page's policy sends its origin only."""
    from app import create_app

    person = factory.person("ada@example.com")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, datetime.now(UTC))
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    token = personal_token(invitations.invitation_for(person, round_.id).id)
    secure = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    browser = secure.test_client()
    page = browser.get(f"https://localhost/s/{token}")
    assert page.headers["Referrer-Policy"] == "strict-origin"
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    question = survey.questions[0].id
    # What Chromium sends under strict-origin from https://localhost/s/<token>: the origin and a slash.
    answered = browser.post("https://localhost/s/answer", headers={"Referer": "https://localhost/"},
                            data={"csrf_token": csrf, "token": token, f"q{question}": "9"})
    assert answered.status_code == 302 and answered.headers["Location"].endswith("/s/thanks")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1


# --- Outbox ---------------------------------------------------------------------------------


def test_the_outbox_keeps_no_reminder_to_person_link_after_sending(db, answered, smtp):
    round_ = answered["round"]
    late = answered["people"][-1]
    db.session.execute(sa.update(Invitation).where(Invitation.person_id == late.id).values(answered=False))
    db.session.commit()
    tasks.tick(round_.remind_at)
    assert any(late.email in m["To"] for m in smtp.messages)
    db.session.expire_all()
    assert db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind.in_(["invitation", "reminder"]))).all() == []


def test_a_refused_invitation_keeps_its_address_for_an_operator_but_not_its_link(db, factory, smtp):
    person = factory.person("gone@example.com")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    smtp.replies["gone@example.com"] = "550 5.1.1 No such user"
    rounds.open_round_now(survey, NOW)
    tasks.tick(NOW)
    db.session.expire_all()
    [message] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation")).all()
    assert message.to_address == person.email and message.next_attempt_at is None
    assert "/s/[redacted]" in message.body_text
    assert not re.search(r"/s/[A-Za-z0-9_\-]{16,}", message.body_text + (message.body_html or ""))
    assert message.dedupe_key is None


def test_uuid_keys_of_responses_are_random(db, answered):
    close(answered)
    keys = db.session.scalars(sa.select(Response.id)).all()
    assert all(isinstance(k, uuid.UUID) and k.version == 4 for k in keys)
    assert mix_all() == 0


def test_a_copy_of_the_database_cannot_read_a_waiting_ballot(db, factory):
    """Fewer than k have answered, so their ballots wait; the attacker reads the tables (on PostgreSQL
    even joining ballots to invitations by transaction id) and finds no answer and no segment."""
    team = factory.department("Team")
    people = [factory.person(f"w{i}@example.com", department=team) for i in range(12)]
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}, {"kind": "text", "text": "Anything else?"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    enps, text = (q.id for q in survey.questions)
    for index, person in enumerate(people[:4]):
        answering.submit_response(invitations.invitation_for(person, round_.id),
                                     {enps: index, text: f"SECRET-{index}"}, NOW)
    rounds.mix_ballots(on_close=tasks.store_results)
    dump = db.session.execute(sa.text("SELECT * FROM ballots")).all()
    assert len(dump) == 4
    flat = b" ".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for row in dump for v in row)
    # the content is there, sealed: plain JSON of it ("[<department>, ...") appears nowhere
    sealed = [bytes(blob) for blob in db.session.scalars(sa.select(Ballot.sealed))]
    assert {unseal(round_.id, blob)[0] for blob in sealed} == {team.id}
    assert b"SECRET" not in flat and f"[{team.id}, ".encode() not in flat
    if db.engine.dialect.name == "postgresql":
        joined = db.session.execute(sa.text(
            "SELECT b.sealed FROM ballots b JOIN invitations i ON i.xmin = b.xmin")).scalars().all()
        assert all(b"SECRET" not in bytes(blob) for blob in joined)
    # the app, which holds the key, still mixes them when the round closes
    tasks.tick(round_.closes_at)
    assert sorted(v for v in stored_values(db, round_.id) if v is not None) == [0, 1, 2, 3]


def test_ballots_sealed_under_another_key_stay_in_the_box(app, db, factory):
    person = factory.person("k@example.com")
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    answering.submit_response(invitations.invitation_for(person, round_.id), {survey.questions[0].id: 4}, NOW)
    app.config["POLSO_BALLOT_KEY"] = "a different key"
    assert rounds.mix_ballots(on_close=tasks.store_results) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
