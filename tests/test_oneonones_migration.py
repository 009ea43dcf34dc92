"""Migration 0009 gives existing one-on-one series a revision that never goes below what feeds sent before.

A new, empty database is migrated to 0008 and filled with raw SQL as that version stored series
(one untouched, one with a moved and a cancelled meeting, one paused, one ended), then upgraded to
head. Feeds used to send SEQUENCE 1 on moved meetings and nothing (0) on the rest. Runs on SQLite, or
on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from dbtypes import UTCDateTime
from extensions import db
from oneonones.models import Series
from tests.conftest import _config
from tests.test_migration_0008 import empty_database, insert  # noqa: F401  (a fixture)

BEFORE = "0008_anonymous_storage"
CREATED = datetime(2026, 1, 5, 8, tzinfo=UTC)
FIRST = datetime(2026, 1, 12, 9, tzinfo=UTC)


def fill(conn) -> None:
    insert(conn, "people", [{"id": i, "email": f"p{i}@example.com", "name": f"P{i}", "role": "employee",
                             "kind": "employee", "active": True, "timezone": "Europe/Rome", "created_at": CREATED,
                             "manager_id": None if i == 1 else 1} for i in range(1, 6)],
           created_at=UTCDateTime())
    series = [{"id": n, "manager_id": 1, "report_id": n + 1, "cadence": "weekly", "rrule": "FREQ=WEEKLY;BYDAY=MO",
               "starts_at": FIRST + timedelta(hours=n), "timezone": "Europe/Rome", "duration_minutes": 60,
               "status": status, "paused_at": paused, "ends_at": ended, "created_at": CREATED}
              for n, status, paused, ended in ((1, "active", None, None), (2, "active", None, None),
                                               (3, "paused", CREATED + timedelta(days=20), None),
                                               (4, "ended", None, CREATED + timedelta(days=30)))]
    insert(conn, "oneonone_series", series, starts_at=UTCDateTime(), paused_at=UTCDateTime(),
           ends_at=UTCDateTime(), created_at=UTCDateTime())
    moved_to = FIRST + timedelta(days=7, hours=5)
    insert(conn, "oneonone_exceptions", [
        {"series_id": 2, "original_start": FIRST + timedelta(days=7, hours=2), "status": "moved",
         "starts_at": moved_to, "ends_at": moved_to + timedelta(hours=1), "changed_at": CREATED + timedelta(days=3)},
        {"series_id": 2, "original_start": FIRST + timedelta(days=14, hours=2), "status": "cancelled",
         "starts_at": None, "ends_at": None, "changed_at": CREATED + timedelta(days=4)},
    ], original_start=UTCDateTime(), starts_at=UTCDateTime(), ends_at=UTCDateTime(), changed_at=UTCDateTime())


def test_0009_gives_each_series_a_sequence_and_a_last_change(empty_database):  # noqa: F811
    app = create_app(_config(empty_database))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            fill(conn)
        upgrade()
        found = {s.id: (s.sequence, s.changed_at) for s in db.session.scalars(sa.select(Series))}
        assert found == {
            1: (0, None),  # nothing changed since it was made: LAST-MODIFIED is its creation
            2: (2, CREATED + timedelta(days=4)),  # its moved meeting was SEQUENCE 1: now 2, never lower
            3: (1, CREATED + timedelta(days=20)),
            4: (1, CREATED + timedelta(days=30)),
        }
        assert db.session.get(Series, 1).modified_at == CREATED
        db.session.remove()
        db.engine.dispose()
