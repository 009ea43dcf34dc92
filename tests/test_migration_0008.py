"""Migration 0008 converts a database written by the previous version in place.

A fresh, empty database is migrated to 0007 (the schema before the storage
change) and filled with raw SQL the way that version stored things: exact
segments, ``submitted_on`` dates, responses written in the order people
answered, survey e-mails with personal links in the outbox. Then it is
upgraded to head, recounted and audited, as the upgrade notes tell operators
to do. Runs on SQLite, or on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
import traceback
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from dbtypes import UTCDateTime
from extensions import db
from tests.conftest import TEST_DATABASE_URL, _config

BEFORE = "0007_reward_edits"

def _script_head() -> str:
    """The newest revision: later migrations run after 0008 in these tests, as they would in an upgrade."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


HEAD = _script_head()
K = 3
CLOSED, OPEN = 1, 2
ENPS, LIKERT, TEXT = 1, 2, 3
# Departments: 1 Company > 2 Sales, 3 Support.
DEPARTMENTS = [(1, "Company", None), (2, "Sales", 1), (3, "Support", 1)]
# People: id → (department, manager, hired on). 1 runs the company, 2 leads Sales, 3 leads Support;
# 4-9 are Sales (four hired 2021, two in 2025), 10-13 Support; 14 sits in Support but reports to
# the Sales lead, hired 2025: on their own in (Support, 2, '<1y').
PEOPLE = {1: (1, None, date(2015, 1, 1)), 2: (2, 1, date(2018, 1, 1)), 3: (3, 1, date(2019, 1, 1)),
          **{i: (2, 2, date(2021, 3, 1)) for i in range(4, 8)}, 8: (2, 2, date(2025, 6, 1)),
          9: (2, 2, date(2025, 6, 1)), **{i: (3, 3, date(2023, 2, 1)) for i in range(10, 14)},
          14: (3, 2, date(2025, 9, 1))}
LONER = 14
BAND = {date(2015, 1, 1): "5y+", date(2018, 1, 1): "5y+", date(2019, 1, 1): "5y+", date(2021, 3, 1): "2-5y",
        date(2023, 2, 1): "2-5y", date(2025, 6, 1): "<1y", date(2025, 9, 1): "<1y"}
ANSWERED = {CLOSED: list(range(4, 15)), OPEN: [4, 5, 6, 10, 11, 12]}
OPENS = {CLOSED: datetime(2026, 1, 5, 8, tzinfo=UTC), OPEN: datetime(2026, 1, 12, 8, tzinfo=UTC)}
CREATED = datetime(2025, 12, 1, 9, tzinfo=UTC)
SEGMENT_SQL = "SELECT round_id, department_id, manager_id, tenure_band FROM responses"
ANSWERS_SQL = ("SELECT r.round_id, a.question_id, a.kind, a.value_int, a.value_text"
               " FROM answers a JOIN responses r ON r.id = a.response_id")


@pytest.fixture
def empty_database(tmp_path):
    """The URI of a new, empty database (not the migrated template), dropped after the test."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    url = sa.make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"polso_m8_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def insert(conn, table: str, rows: list[dict], **types) -> None:
    """``INSERT`` as raw SQL; ``types`` bind the columns whose form differs between databases."""
    columns = list(rows[0])
    statement = sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
    conn.execute(statement.bindparams(*(sa.bindparam(c, type_=t) for c, t in types.items())), rows)


def fill_old_schema(conn) -> None:
    """What the previous version stored for one survey with a closed and an open round."""
    insert(conn, "departments", [{"id": i, "name": n, "name_key": n.lower(), "parent_id": p}
                                 for i, n, p in DEPARTMENTS])
    insert(conn, "people", [
        {"id": i, "email": f"p{i}@example.com", "name": f"Person {i}", "department_id": d, "manager_id": m,
         "role": "hr_admin" if i == 1 else "employee", "kind": "employee", "active": True, "hired_on": hired,
         "locale": None, "timezone": "Europe/Rome", "password_hash": None, "created_at": CREATED}
        for i, (d, m, hired) in PEOPLE.items()], hired_on=sa.Date(), created_at=UTCDateTime())
    insert(conn, "surveys", [{"id": 1, "title": "Pulse", "cadence": "weekly", "starts_on": date(2026, 1, 5),
                              "open_days": 5, "remind_days_before_close": 2, "timezone": "Europe/Rome",
                              "audience_department_id": None, "min_group_size": K, "status": "active",
                              "created_at": CREATED}], starts_on=sa.Date(), created_at=UTCDateTime())
    insert(conn, "survey_questions", [
        {"id": ENPS, "survey_id": 1, "position": 1, "kind": "enps", "text": "Recommend us?", "required": True,
         "library_key": "enps", "driver": "enps"},
        {"id": LIKERT, "survey_id": 1, "position": 2, "kind": "likert", "text": "I feel recognised.",
         "required": True, "library_key": "recognition_valued", "driver": "recognition"},
        {"id": TEXT, "survey_id": 1, "position": 3, "kind": "text", "text": "Anything else?", "required": False,
         "library_key": None, "driver": None}])
    insert(conn, "rounds", [
        {"id": r, "survey_id": 1, "opens_at": OPENS[r], "closes_at": OPENS[r] + timedelta(days=5),
         "remind_at": OPENS[r] + timedelta(days=3), "status": "closed" if r == CLOSED else "open",
         "invited_count": len(PEOPLE), "reminders_queued": r == CLOSED} for r in (CLOSED, OPEN)],
        opens_at=UTCDateTime(), closes_at=UTCDateTime(), remind_at=UTCDateTime())
    invitation = {(r, p): index for index, (r, p) in enumerate(
        ((r, p) for r in (CLOSED, OPEN) for p in PEOPLE), start=1)}
    insert(conn, "invitations", [{"id": i, "round_id": r, "person_id": p, "answered": p in ANSWERED[r]}
                                 for (r, p), i in invitation.items()])

    responses, answers = [], []
    for r in (CLOSED, OPEN):
        for day, person in enumerate(ANSWERED[r]):  # in person order, a day apart: the order of answering
            department, manager, hired = PEOPLE[person]
            key = uuid.uuid4()
            responses.append({"id": key, "round_id": r, "submitted_on": OPENS[r].date() + timedelta(days=day % 5),
                              "department_id": department, "manager_id": manager, "tenure_band": BAND[hired]})
            answers.append({"response_id": key, "question_id": ENPS, "kind": "enps", "value_int": person % 11,
                            "value_text": None})
            answers.append({"response_id": key, "question_id": LIKERT, "kind": "likert",
                            "value_int": 1 + person % 5, "value_text": None})
            if person % 3 == 0:
                answers.append({"response_id": key, "question_id": TEXT, "kind": "text", "value_int": None,
                                "value_text": f"comment from round {r}, number {person}"})
    insert(conn, "responses", responses, id=sa.Uuid(), submitted_on=sa.Date())
    insert(conn, "answers", answers, response_id=sa.Uuid())

    # The closed round's stored results as the old version kept them (histograms left out: the recount
    # replaces every row); its department and manager rows carry the trees at closing.
    closed = [PEOPLE[p] for p in ANSWERED[CLOSED]]
    in_department = Counter(d for d, _m, _h in closed)
    under_manager = Counter(m for _d, m, _h in closed)
    in_band = Counter(BAND[h] for _d, _m, h in closed)
    groups = [("company", 0, None, len(closed)),  # department 1 and manager 1 are the tops of their trees
              ("department", 1, -1, len(closed)), ("department", 2, 1, in_department[2]),
              ("department", 3, 1, in_department[3]), ("manager", 1, -1, len(closed)),
              ("manager", 2, 1, under_manager[2]), ("manager", 3, 1, under_manager[3]),
              ("tenure", 3, -1, in_band["2-5y"]), ("tenure", 1, -1, in_band["<1y"])]
    insert(conn, "round_results", [
        {"round_id": CLOSED, "kind": kind, "key": key, "parent_key": parent, "responses": n, "shown": n >= K,
         "reason": None if n >= K else "too_few", "invited": None, "histograms": {}, "pairs": None,
         "comments": None} for kind, key, parent, n in groups], histograms=sa.JSON())

    link = "http://localhost/s/" + "A" * 43
    outbox = [("invitation", f"invitation:{invitation[OPEN, 1]}", OPENS[OPEN], None),
              ("invitation", f"invitation:{invitation[OPEN, 2]}", None, OPENS[OPEN] + timedelta(hours=1)),
              ("reminder", f"reminder:{invitation[CLOSED, 3]}", None, None),
              ("oneonone_reminder", "oneonone_reminder:1", OPENS[OPEN], None)]
    insert(conn, "outbox", [
        {"id": i, "to_address": "p1@example.com", "subject": kind, "body_text": f"Answer here: {link}",
         "body_html": None, "kind": kind, "dedupe_key": dedupe, "created_at": CREATED, "attempts": 1,
         "next_attempt_at": retry, "claimed_until": None, "sent_at": sent, "last_error": None}
        for i, (kind, dedupe, sent, retry) in enumerate(outbox, start=1)],
        created_at=UTCDateTime(), next_attempt_at=UTCDateTime(), claimed_until=UTCDateTime(), sent_at=UTCDateTime())


def told(result) -> str:
    """A CLI result's output, with the traceback of an exception it raised."""
    if result.exc_info and not isinstance(result.exception, SystemExit):
        return result.output + "".join(traceback.format_exception(*result.exc_info))
    return result.output


def response_ids(conn) -> set[str]:
    """Response keys as text in one form on both databases (SQLite keeps 32 hex digits, PostgreSQL a uuid)."""
    ids = {str(uuid.UUID(str(i))) for (i,) in conn.execute(sa.text("SELECT id FROM responses"))}
    ids |= {str(uuid.UUID(str(i))) for (i,) in conn.execute(sa.text("SELECT response_id FROM answers"))}
    return ids


def test_0008_converts_a_database_of_the_previous_version_in_place(empty_database):
    app = create_app(_config(empty_database))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            fill_old_schema(conn)
            old_ids = response_ids(conn)
            old_answers = Counter(conn.execute(sa.text(ANSWERS_SQL)).all())
            old_segments = Counter(conn.execute(sa.text(SEGMENT_SQL)).all())
        assert len(old_ids) == 17
        assert old_segments[CLOSED, 3, 2, "<1y"] == 1  # the loner's segment names them

        upgrade()

        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            inspector = sa.inspect(conn)
            assert "submitted_on" not in {c["name"] for c in inspector.get_columns("responses")}
            assert {"response_rekey", "responses_new", "answers_new"}.isdisjoint(inspector.get_table_names())
            assert {"ballots", "invitation_links"} <= set(inspector.get_table_names())

            new_ids = response_ids(conn)
            assert len(new_ids) == len(old_ids)
            assert not new_ids & old_ids  # every key is new
            assert Counter(conn.execute(sa.text(ANSWERS_SQL)).all()) == old_answers

            if conn.dialect.name == "sqlite":
                for table in ("responses", "answers"):
                    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                                       {"t": table}).scalar()
                    assert "WITHOUT ROWID" in sql.upper(), sql

            segments = Counter(conn.execute(sa.text(SEGMENT_SQL)).all())
            assert sum(n for (r, *_s), n in segments.items() if r == CLOSED) == len(ANSWERED[CLOSED])
            assert sum(n for (r, *_s), n in segments.items() if r == OPEN) == len(ANSWERED[OPEN])
            assert (CLOSED, 3, 2, "<1y") not in segments
            for (round_id, *segment), n in segments.items():
                assert n >= K or tuple(segment) == (None, None, None), (round_id, segment, n)
            # The segments that held k or more already are kept as they were.
            assert segments[CLOSED, 2, 2, "2-5y"] == 4 and segments[CLOSED, 3, 3, "2-5y"] == 4

            snapshots = dict(conn.execute(sa.text("SELECT id, snapshot FROM rounds")).all())
            assert snapshots[CLOSED] is None and snapshots[OPEN] is not None
            cells = conn.execute(sa.text(
                "SELECT person_id, cell_department_id, cell_manager_id, cell_tenure_band FROM invitations"
                " WHERE round_id = :r"), {"r": OPEN}).all()
            assert len(cells) == len(PEOPLE)
            by_cell = Counter(tuple(c[1:]) for c in cells)
            assert by_cell[2, 2, None] == 6 and by_cell[3, 3, None] == 4  # the teams keep their cell
            assert all(n >= K or cell == (None, None, None) for cell, n in by_cell.items()), by_cell
            assert conn.execute(sa.text(
                "SELECT count(*) FROM invitations WHERE round_id = :r AND (cell_department_id IS NOT NULL"
                " OR cell_manager_id IS NOT NULL)"), {"r": CLOSED}).scalar() == 0

            assert conn.execute(sa.text("SELECT kind FROM outbox")).scalars().all() == ["oneonone_reminder"]

        runner = app.test_cli_runner()
        recount = runner.invoke(args=["results", "recount"])
        assert recount.exit_code == 0, told(recount)
        assert "Recounted 1 closed round(s)" in recount.output
        audit = runner.invoke(args=["anonymity", "audit"])
        assert audit.exit_code == 0, told(audit)
        assert "6 of 6 checks passed." in audit.output
        db.session.remove()
        db.engine.dispose()


def test_downgrading_0008_is_refused(runner, db):
    if HEAD != "0008_anonymous_storage":  # later revisions may go back; 0008 itself may not
        assert runner.invoke(args=["db", "downgrade", "0008_anonymous_storage"]).exit_code == 0
    result = runner.invoke(args=["db", "downgrade", BEFORE])
    assert result.exit_code == 1
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0008_anonymous_storage"
        assert "submitted_on" not in {c["name"] for c in sa.inspect(conn).get_columns("responses")}
