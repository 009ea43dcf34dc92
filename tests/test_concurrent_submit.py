"""Duplicate submits of one invitation, at the same moment, to a served app: exactly one answer is stored.

The app is served by gunicorn (several worker processes, each with threads) on the test's own database,
SQLite by default and PostgreSQL with ``TEST_DATABASE_URL``; the copies are real HTTP requests from threads
released together, through the API, the personal-link form, or both at once.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from people import signin
from surveys import building, invitations, rounds
from surveys.models import Ballot, Invitation, Response
from tests.conftest import free_port, personal_token, run_concurrently

NOW = datetime.now(UTC)
ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COPIES = 4


def send(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture
def served(app, database_uri):
    """Polso under gunicorn (3 workers of 4 threads) on this test's database; yields the port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": app.config["SECRET_KEY"],
           "POLSO_ENV": "production", "MAIL_SERVER": ""}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "--workers", "3", "--threads", "4", "--bind", f"127.0.0.1:{port}",
                               "app:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            send(port, "GET", "/login")
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture
def invited(factory):
    """Six employees, each invited to one open round, with an API token and a personal link."""
    dept = factory.department("Engineering")
    lead = factory.person("lead@example.com", department=dept)
    people = [factory.person(department=dept, manager=lead, hired_on=NOW.date() - timedelta(days=400))
              for _ in range(5)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}, {"library_key": "workload_manageable"}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    enps, likert = (q.id for q in survey.questions)
    everyone = []
    for person in [lead, *people]:
        invitation = invitations.invitation_for(person, round_.id)
        everyone.append({"invitation": invitation.id, "api_token": signin.issue_api_token(person, NOW),
                         "link": personal_token(invitation.id)})
    return {"round": round_.id, "answers": {enps: 7, likert: 4}, "people": everyone}


def api_submit(port: int, setup: dict, person: dict):
    body = json.dumps({"answers": [{"question_id": q, "value": v} for q, v in setup["answers"].items()]}).encode()
    headers = {"Authorization": f"Bearer {person['api_token']}", "Content-Type": "application/json"}

    def submit() -> str:
        status, _headers, _body = send(port, "POST", f"/api/v1/rounds/{setup['round']}/responses", body, headers)
        return "stored" if status == 201 else str(status)

    return submit


def form_submit(port: int, setup: dict, person: dict):
    """The personal link's page is opened now; the returned call posts its form (so that only posts race)."""
    status, headers, page = send(port, "GET", f"/s/{person['link']}")
    assert status == 200
    cookie = headers.get("set-cookie", "").split(";", 1)[0]
    fields = {"token": person["link"], "csrf_token": CSRF.search(page.decode()).group(1),
              **{f"q{q}": str(v) for q, v in setup["answers"].items()}}
    body = urllib.parse.urlencode(fields).encode()
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}

    def submit() -> str:
        status, response_headers, _body = send(port, "POST", "/s/answer", body, form_headers)
        if status == 302 and response_headers.get("location", "").endswith("/s/thanks"):
            return "stored"
        return str(status)

    return submit


def stored_per_round(db, round_id: int) -> tuple[int, int]:
    db.session.expire_all()
    count = (db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.round_id == round_id))
             + db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
                 Response.round_id == round_id)))
    answered = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
        Invitation.round_id == round_id, Invitation.answered))
    return count, answered


def assert_one_stored_each(db, setup: dict, outcomes: list[str]) -> None:
    people = len(setup["people"])
    assert outcomes.count("stored") == people, outcomes
    assert stored_per_round(db, setup["round"]) == (people, people)


@pytest.mark.parametrize("way", ["api", "form"])
def test_copies_of_one_answer_sent_at_once_store_exactly_one(db, served, invited, way):
    make = api_submit if way == "api" else form_submit
    calls = [make(served, invited, person) for person in invited["people"] for _ in range(COPIES)]
    outcomes = run_concurrently(*calls, timeout=120)
    for index in range(len(invited["people"])):
        mine = outcomes[index * COPIES:(index + 1) * COPIES]
        assert mine.count("stored") == 1, mine
        # The others are refused: 409 from the API and the form, or the form's "already answered" page (200).
        assert set(mine) - {"stored"} <= {"409", "200"}, mine
    assert_one_stored_each(db, invited, outcomes)


def test_api_and_form_copies_of_one_answer_at_once_store_exactly_one(db, served, invited):
    calls = []
    for person in invited["people"]:
        calls += [api_submit(served, invited, person), form_submit(served, invited, person),
                  api_submit(served, invited, person), form_submit(served, invited, person)]
    outcomes = run_concurrently(*calls, timeout=120)
    for index in range(len(invited["people"])):
        assert outcomes[index * 4:(index + 1) * 4].count("stored") == 1
    assert_one_stored_each(db, invited, outcomes)


@pytest.mark.parametrize("way", ["api", "form"])
def test_an_answer_sent_while_its_round_closes_waits_for_the_close_and_is_refused(db, served, invited,
                                                                                   database_uri, way):
    """Closing locks the round's row FOR UPDATE and updates it; an answer claims its invitation in a statement
    that reads that row FOR KEY SHARE (on SQLite the write lock does the same): it waits for the close, then
    sees the round closed."""
    person = invited["people"][0]
    submit = (api_submit if way == "api" else form_submit)(served, invited, person)
    closer = sa.create_engine(database_uri, poolclass=sa.pool.NullPool)
    try:
        with closer.connect() as connection:
            transaction = connection.begin()
            if connection.dialect.name == "postgresql":  # as pulses tick closes a round
                connection.execute(sa.text("SELECT id FROM rounds WHERE id = :id FOR UPDATE"), {"id": invited["round"]})
            connection.execute(sa.text("UPDATE rounds SET status = 'closed' WHERE id = :id"), {"id": invited["round"]})
            outcome: list[str] = []
            waiting = threading.Thread(target=lambda: outcome.append(submit()))
            waiting.start()
            waiting.join(1.5)
            assert waiting.is_alive(), outcome  # held by the close
            transaction.commit()
            waiting.join(30)
    finally:
        closer.dispose()
    assert outcome == ["409"]
    assert stored_per_round(db, invited["round"]) == (0, 0)
