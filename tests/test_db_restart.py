"""Faults under load, with real processes: PostgreSQL restarted while answers arrive (issue 17, item 3).

Polso is served by gunicorn as the README runs it (``tests.test_worker_faults.served``) on a PostgreSQL
cluster of the test's own (``bench.load.PrivatePostgres``: ``initdb`` in a temporary directory, a free
loopback port), never the server the rest of the suite shares. A few client threads answer one open round,
half of the invitations through ``POST /api/v1/rounds/<id>/responses`` and half through the personal link
(``GET /s/<token>``, then the form's ``POST /s/answer``), with the same helpers as ``bench/load.py``. Once a
third are done, the cluster is stopped with a fast shutdown (open transactions rolled back, every connection
cut), left down 2 s and started again, while the clients go on. A client that gets a 503 sends the answer
again after its ``Retry-After``, at most five times (``bench.load.answer_with_retries``).

Checked: no 500 nor any other unexpected status; every 503 carries ``Retry-After``; every success (201, or
the form's redirect to the thank-you page) is stored exactly once and a 503 left nothing: the round's waiting
ballots plus mixed responses, and its invitations marked answered, both equal the successes (a 503 that had
stored its answer would make its retry "already answered", counted apart, below); answers are stored again
after the restart, without restarting gunicorn (the same worker processes: each worker's pool checks a
connection before use, ``pool_pre_ping``, and opens a new one), and answers sent one by one afterwards all
succeed at their first attempt.

A restart can also cut a connection after the response was made (a page rendered after its last query): the
request's open transaction then fails to roll back when the request ends, which used to turn the finished
page into a 500; ``errors._end_transaction`` lets that loss go. The second test makes that cut happen every
time (``pg_terminate_backend`` in an ``after_request`` hook) for a personal-link page and an API answer.

A commit PostgreSQL acknowledged but whose reply never reached the app (the connection cut between the two)
is the one case where a 503 leaves an answer stored: the app cannot know the commit's outcome, so it says
503. The answer and its invitation's "answered" mark are one transaction, so the retry is then told "already
answered" (the API's 409, the form's "already answered" page): the accounting counts such an invitation as
answered once (``STORED_BEFORE_503``), with the successes, never as a loss nor a double. The window is a
few instructions wide, so a run almost never shows one; it is allowed, not required.

``.ci/run`` runs the suite twice; this module runs once, in the PostgreSQL run (``TEST_DATABASE_URL=
postgresql...``), where PostgreSQL is known to be installed and the other PostgreSQL faults
(``tests/test_db_outage.py``) run. In the SQLite run it is skipped: it would repeat the same thing on the
same private cluster. Without PostgreSQL's server programs (``initdb``, ``pg_ctl``, ``postgres``), or as root
without a ``postgres`` OS user to run them as, it is skipped with that reason. About 35 s in all, unmarked,
like the other process tests (``test_worker_faults``, ``test_concurrent_submit``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bench.load import STORED_BEFORE_503, PrivatePostgres, answer_with_retries, api_answer, form_answer
from people import signin
from people.models import Person
from surveys import building, links, rounds
from surveys.models import Ballot, Invitation, Response
from tests.conftest import TEST_DATABASE_URL, _migrate, personal_token, run_concurrently
from tests.test_worker_faults import _workers
from tests.test_worker_faults import served as _served

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="runs in the PostgreSQL run of the suite (TEST_DATABASE_URL=postgresql...), on a private cluster")

served = _served  # the fixture: gunicorn as the README runs it, on this module's ``database_uri``

LOADED = 200  # invitations answered under load, API and form alternately
AFTER = 10  # invitations answered one at a time once the load is over
CLIENTS = 4
DOWN_SECONDS = 2.0
ATTEMPTS = 5


@pytest.fixture(scope="module")
def cluster():
    try:
        postgres = PrivatePostgres()
    except LookupError as error:
        pytest.skip(str(error))
    yield postgres
    postgres.close()


@pytest.fixture
def database_uri(cluster):
    """A migrated database on the private cluster (this module's override of conftest's)."""
    admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS polso_restart WITH (FORCE)")
        connection.exec_driver_sql("CREATE DATABASE polso_restart")
    admin.dispose()
    uri = sa.make_url(cluster.url).set(database="polso_restart").render_as_string(hide_password=False)
    _migrate(uri)
    return uri


def _counts(db, round_id: int) -> tuple[int, set[int]]:
    """(waiting ballots + mixed responses of the round, ids of its invitations marked answered)."""
    db.session.rollback()
    stored = (db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.round_id == round_id))
              + db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                                  .where(Response.round_id == round_id)))
    answered = set(db.session.scalars(sa.select(Invitation.id).where(Invitation.round_id == round_id,
                                                                     Invitation.answered.is_(True))))
    return stored, answered


def test_postgres_restarted_mid_load_loses_doubles_and_breaks_nothing(db, factory, cluster, served):
    url, master = served
    port = int(url.rsplit(":", 1)[1])
    now = datetime.now(UTC)
    team = factory.department("Team")
    people = [factory.person(f"p{i}@example.com", department=team, password=None) for i in range(LOADED + AFTER)]
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}, {"library_key": "workload_manageable"}]}, now)
    round_ = rounds.open_round_now(survey, now)
    round_id, (enps, likert) = round_.id, (q.id for q in survey.questions)
    jobs = []  # (invitation id, way, job)
    for n, (invitation_id, person_id) in enumerate(db.session.execute(
            sa.select(Invitation.id, Invitation.person_id).where(Invitation.round_id == round_id)
            .order_by(Invitation.id)).all()):
        values = {enps: n % 11, likert: 1 + n % 5}
        if n % 2:
            link = links.new_token(invitation_id)
            jobs.append((invitation_id, "form", lambda lk=link, v=values: form_answer(port, lk, v)))
        else:
            token = signin.issue_api_token(db.session.get(Person, person_id), now)
            jobs.append((invitation_id, "api", lambda t=token, v=values: api_answer(port, round_id, t, v)))
    db.session.commit()
    assert len(jobs) == len(people) == LOADED + AFTER
    loaded, after = jobs[:LOADED], jobs[LOADED:]
    workers = sorted(_workers(master))

    tally: Counter = Counter()
    outcomes: dict[int, object] = {}
    finished: list[tuple[float, str, object]] = []
    lock = threading.Lock()
    queue = list(reversed(loaded))

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                invitation_id, way, job = queue.pop()
            try:
                status = answer_with_retries(job, tally, lock, ATTEMPTS)
            except OSError as error:  # gunicorn itself never goes away here: any such error is a failure
                status = type(error).__name__
            with lock:
                outcomes[invitation_id] = status
                finished.append((time.monotonic(), way, status))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while len(outcomes) < LOADED // 3 and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    began = time.monotonic()
    stopped, started = cluster.restart(DOWN_SECONDS)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "clients still running"

    statuses = Counter(outcomes.values())
    assert set(statuses) <= {201, STORED_BEFORE_503}, statuses  # no 500, no 503 left, nothing else
    assert len(outcomes) == LOADED
    assert tally["503"] > 0, f"no request met the restart (stop {stopped - began:.1f} s, up {started - began:.1f} s)"
    assert tally["503 without Retry-After"] == 0, tally
    stored, answered = _counts(db, round_id)
    # Each invitation is sent by one client, again only after a 503: every one is stored, and stored once.
    assert stored == len(answered) == statuses[201] + statuses[STORED_BEFORE_503] == LOADED, (stored, statuses)
    assert answered == set(outcomes)
    for way in ("api", "form"):
        assert any(status == 201 and at > started for at, w, status in finished if w == way), \
            f"no {way} answer stored after the restart"

    # The database is back and the pools with it: answers one at a time, each at its first attempt.
    first_tries = [job() for _id, _way, job in after]
    assert first_tries == [201] * AFTER, first_tries
    stored, answered = _counts(db, round_id)
    assert stored == len(answered) == LOADED + AFTER
    # By itself: the same gunicorn, with the same workers (none crashed and was replaced).
    assert master.poll() is None
    assert sorted(_workers(master)) == workers


# --- A connection lost after the response was made ------------------------------------------------


@pytest.fixture
def cut_after_response(app, db, cluster):
    """Once the view has made its response, the request's connection is cut by the server, as a restart
    between a page's last query and the end of its request does: the request's open transaction can then
    only find the connection gone when it is rolled back."""
    admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    cut = []

    @app.after_request
    def cut_connection(response):
        pid = db.session.connection().connection.driver_connection.info.backend_pid
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):
                if not other.execute(sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                    break
                time.sleep(0.01)
        cut.append(pid)
        return response

    yield cut
    admin.dispose()


def test_a_connection_cut_after_the_response_is_made_leaves_the_response_as_it_was(app, db, factory,
                                                                                   cut_after_response):
    now = datetime.now(UTC)
    team = factory.department("Team")
    people = [factory.person(department=team, password=None, hired_on=now.date() - timedelta(days=400))
              for _ in range(5)]
    survey = building.create_survey({"title": "Pulse", "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}]}, now)
    round_ = rounds.open_round_now(survey, now)
    round_id, enps = round_.id, survey.questions[0].id
    invitation_ids = list(db.session.scalars(sa.select(Invitation.id).where(Invitation.round_id == round_id)
                                             .order_by(Invitation.id)))
    link = personal_token(invitation_ids[0])
    token = signin.issue_api_token(db.session.get(Person, people[1].id), now)
    client = app.test_client()

    # Each in a thread of its own, so that the request has its own app context, ended with it, as under gunicorn.
    [page] = run_concurrently(lambda: client.get(f"/s/{link}"))
    [answer] = run_concurrently(lambda: client.post(f"/api/v1/rounds/{round_id}/responses",
                                                    headers={"Authorization": f"Bearer {token}"},
                                                    json={"answers": [{"question_id": enps, "value": 9}]}))
    assert len(cut_after_response) == 2
    assert page.status_code == 200 and f'name="q{enps}"' in page.get_data(as_text=True)  # the survey's form
    assert answer.status_code == 201  # committed before the cut: it stands, and is stored once
    stored, answered = _counts(db, round_id)
    assert stored == len(answered) == 1
