"""A database that cannot be reached, or whose connection is lost mid-request: a 503 with ``Retry-After``
(JSON on the API, the error page elsewhere), never a 500, and nothing of the request is stored.

The unreachable cases point an app at a closed loopback port, so they run on every database; the lost
connection is a real PostgreSQL backend killed with ``pg_terminate_backend`` while the answer is being
written, so those run with ``TEST_DATABASE_URL``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

from app import create_app
from people import signin
from surveys import building, invitations, rounds
from surveys.models import Ballot, Invitation, Response
from tests.conftest import PASSWORD, TEST_DATABASE_URL, free_port, personal_token

NOW = datetime.now(UTC)
needs_postgres = pytest.mark.skipif(not (TEST_DATABASE_URL or "").startswith("postgresql"),
                                    reason="kills PostgreSQL backends: set TEST_DATABASE_URL")


@pytest.fixture
def unreachable(app_config):
    """An app whose PostgreSQL server is a loopback port that nothing listens on."""
    app = create_app({**app_config,
                      "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/polso"})
    yield app
    with app.app_context():
        from extensions import db

        db.engine.dispose()


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0


def test_api_call_with_the_database_unreachable_is_a_json_503(unreachable):
    response = unreachable.test_client().post("/api/v1/rounds/1/responses", json={"answers": []},
                                              headers={"Authorization": "Bearer some-token"})
    assert_unavailable(response)
    assert response.get_json()["error"]["code"] == "unavailable"


def test_personal_link_with_the_database_unreachable_is_the_503_page(unreachable):
    response = unreachable.test_client().get("/s/" + "x" * 43)
    assert_unavailable(response)
    assert response.mimetype == "text/html"
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_signed_in_page_with_the_database_unreachable_is_the_503_page(client, factory, unreachable):
    factory.person("hr@example.com", role="hr_admin")
    assert client.post("/login", data={"email": "hr@example.com", "password": PASSWORD}).status_code == 302
    away = unreachable.test_client()
    away.set_cookie("session", client.get_cookie("session").value)
    response = away.get("/results")
    # The person cannot be loaded without the database: the page is drawn for nobody signed in, not a 500.
    assert_unavailable(response)
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_scim_call_with_the_database_unreachable_is_a_scim_503(unreachable):
    """Was a 400: SCIM's handler of service refusals turned the 503 into a client error."""
    response = unreachable.test_client().get("/scim/v2/Users", headers={"Authorization": "Bearer some-token"})
    assert_unavailable(response)
    body = response.get_json()
    assert body["status"] == "503" and "urn:ietf:params:scim:api:messages:2.0:Error" in body["schemas"]


# --- A PostgreSQL connection lost mid-request ------------------------------------------------


@pytest.fixture
def invited(factory):
    dept = factory.department("Engineering")
    lead = factory.person("lead@example.com", department=dept)
    people = [factory.person(department=dept, manager=lead, hired_on=NOW.date() - timedelta(days=400))
              for _ in range(5)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    person = people[0]
    invitation = invitations.invitation_for(person, round_.id)
    return {"round": round_.id, "enps": survey.questions[0].id, "invitation": invitation.id,
            "api_token": signin.issue_api_token(person, NOW), "link": personal_token(invitation.id)}


@pytest.fixture
def kill_on_ballot(db):
    """While a ballot is being inserted, terminate that connection's backend (as a restart or a failover
    would); only the first time, so that the retry finds the database back."""
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    killed = []

    def kill(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO BALLOTS") and not killed:
            pid = conn.connection.driver_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                # The backend is gone when it no longer shows among the server's processes.
                for _ in range(100):
                    if not other.execute(sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"),
                                         {"pid": pid}).first():
                        break
            killed.append(pid)

    sa.event.listen(db.engine, "before_cursor_execute", kill)
    yield killed
    sa.event.remove(db.engine, "before_cursor_execute", kill)
    admin.dispose()


def stored(db, setup) -> tuple[int, bool]:
    db.session.rollback()
    count = (db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.round_id == setup["round"]))
             + db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
                 Response.round_id == setup["round"])))
    return count, db.session.get(Invitation, setup["invitation"]).answered


@needs_postgres
def test_api_answer_whose_connection_is_killed_is_a_503_and_not_stored(client, db, invited, kill_on_ballot):
    answer = {"answers": [{"question_id": invited["enps"], "value": 9}]}
    headers = {"Authorization": f"Bearer {invited['api_token']}"}
    response = client.post(f"/api/v1/rounds/{invited['round']}/responses", json=answer, headers=headers)
    assert kill_on_ballot
    assert_unavailable(response)
    assert response.get_json()["error"]["code"] == "unavailable"
    assert stored(db, invited) == (0, False)
    # Sent again once the database is back, it is stored, once.
    assert client.post(f"/api/v1/rounds/{invited['round']}/responses", json=answer, headers=headers).status_code == 201
    assert stored(db, invited) == (1, True)


@needs_postgres
def test_form_answer_whose_connection_is_killed_is_the_503_page_and_not_stored(client, db, invited, kill_on_ballot):
    data = {"token": invited["link"], f"q{invited['enps']}": "9"}
    response = client.post("/s/answer", data=data)
    assert kill_on_ballot
    assert_unavailable(response)
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert stored(db, invited) == (0, False)
    assert client.post("/s/answer", data=data).status_code == 302
    assert stored(db, invited) == (1, True)


# --- A database busy with others' work ----------------------------------------------------------


@pytest.fixture
def held(db, invited):
    """Another process holds what the answer must write: SQLite's write lock, or on PostgreSQL the
    invitation's row (``FOR UPDATE``). The app waits 0.2 s for it (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``, as an operator may set), not the 10 s of production's SQLite setting."""
    sqlite = db.engine.dialect.name == "sqlite"
    wait = "PRAGMA busy_timeout = 200" if sqlite else "SET lock_timeout = '200ms'"

    def short_wait(conn, _cursor, statement, *_args) -> None:
        if statement != wait:
            conn.connection.driver_connection.execute(wait)

    db.session.commit()
    sa.event.listen(db.engine, "before_cursor_execute", short_wait)
    if sqlite:
        import sqlite3

        other = sqlite3.connect(db.engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        release = other.rollback
    else:
        engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        other = engine.connect()
        other.execute(sa.select(Invitation.id).where(Invitation.id == invited["invitation"]).with_for_update())
        release = other.rollback
    yield release
    release()
    other.close()
    sa.event.remove(db.engine, "before_cursor_execute", short_wait)
    if not sqlite:
        engine.dispose()


@pytest.mark.parametrize("path", ["api", "form"])
def test_an_answer_while_another_process_holds_the_lock_it_needs_is_a_503_and_stores_nothing(client, db, invited,
                                                                                             held, path):
    """Was a 500 ("database is locked") on SQLite: the transaction is refused whole, so a retry is safe."""
    def send():
        if path == "api":
            return client.post(f"/api/v1/rounds/{invited['round']}/responses",
                               json={"answers": [{"question_id": invited["enps"], "value": 9}]},
                               headers={"Authorization": f"Bearer {invited['api_token']}"})
        return client.post("/s/answer", data={"token": invited["link"], f"q{invited['enps']}": "9"})

    response = send()
    assert_unavailable(response)
    if path == "api":
        assert response.get_json()["error"]["code"] == "unavailable"
        assert "busy" in response.get_json()["error"]["message"]
    else:
        assert "Temporarily unavailable" in response.get_data(as_text=True)
    held()  # the other process is done
    assert stored(db, invited) == (0, False)
    assert send().status_code == (201 if path == "api" else 302)
    assert stored(db, invited) == (1, True)


@pytest.fixture
def busy(db):
    """``busy(table)``: from then on, inserts into ``table`` fail as a busy database fails them: SQLite's
    "database is locked", PostgreSQL's lock_not_available. Raised by the driver here, since a real lock held by
    another process stops more than one table's writes (``held`` above is that real case)."""
    undo = []

    def refuse_writes_to(table: str) -> None:
        if db.engine.dialect.name == "sqlite":
            import sqlite3

            error = sqlite3.OperationalError("database is locked")
        else:
            import psycopg

            error = psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")

        def refuse(_cursor, statement, _parameters, _context) -> None:
            if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
                raise error

        sa.event.listen(db.engine.dialect, "do_execute", refuse)
        undo.append(lambda: sa.event.remove(db.engine.dialect, "do_execute", refuse))

    yield refuse_writes_to
    for step in undo:
        step()


def test_a_503_after_the_request_saved_a_first_step_does_not_say_nothing_was_saved(client, db, factory, busy):
    """Choosing a password from an invitation link spends the link, then signs in: a busy database at the
    second step leaves the first done, so the 503 must not tell the person that nothing was saved."""
    from people import credentials

    person = factory.person("new@example.com", password=None)
    raw = credentials._new_link(person, "invitation", timedelta(days=7), datetime.now(UTC))
    db.session.commit()
    busy("sign_in_sessions")
    chosen = "A much longer passphrase 42!"
    response = client.post(f"/password/{raw}", data={"password": chosen, "confirm": chosen})
    assert_unavailable(response)
    html = response.get_data(as_text=True)
    assert "part of it may already be saved" in html and "nothing was saved" not in html


def test_a_busy_database_while_a_one_on_one_is_scheduled_is_the_503_page_not_a_form_message(client, db, factory,
                                                                                            auth, busy):
    """The one-on-one pages show a service's refusal on their form; the database being busy is not one (its
    page would need the database again: that was a 500)."""
    from oneonones.models import Series

    manager = factory.person("marta@example.com", manager=factory.person("boss@example.com"))
    report = factory.person("enzo@example.com", manager=manager)
    auth.login("marta@example.com")
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    form = {"report_id": report.id, "cadence": "weekly", "starts_on": day.isoformat(), "start_time": "10:00",
            "duration_minutes": "60", "timezone": "Europe/Rome"}
    busy("oneonone_series")
    response = client.post("/one-on-ones/new", data=form)
    assert_unavailable(response)
    assert "nothing was saved" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 0


def test_a_503_after_only_the_sign_in_sessions_own_bookkeeping_still_says_nothing_was_saved(client, db, factory,
                                                                                            busy):
    """A signed-in request first notes when its session was last seen (committed every few minutes): that is
    the request's own bookkeeping, so an answer refused as busy after it still stored nothing of the person's."""
    from people import auth
    from people.models import SignInSession

    dept = factory.department("Engineering")
    lead = factory.person("lead@example.com", department=dept)
    ada = factory.person("ada@example.com", department=dept, manager=lead)
    for _ in range(5):
        factory.person(department=dept, manager=lead)
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps", "required": True}]}, NOW)
    round_ = rounds.open_round_now(survey, NOW)
    assert client.post("/login", data={"email": ada.email, "password": PASSWORD}).status_code == 302
    db.session.execute(sa.update(SignInSession).values(
        last_seen_at=datetime.now(UTC) - 2 * auth.TOUCH_EVERY))  # the session's touch is due
    db.session.commit()
    g.pop("_login_user", None)  # the test's app context outlives a request: load the person again, as a new one does
    busy("ballots")
    response = client.post("/s/answer", data={"round": str(round_.id), f"q{survey.questions[0].id}": "9"})
    assert_unavailable(response)
    assert "nothing was saved" in response.get_data(as_text=True)
    db.session.rollback()
    assert not invitations.invitation_for(ada, round_.id).answered
    assert db.session.scalar(sa.select(SignInSession.last_seen_at)) > datetime.now(UTC) - auth.TOUCH_EVERY
