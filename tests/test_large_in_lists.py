"""Lookups over every row of a large company stay within the databases' limits on bound parameters
(PostgreSQL 65,535, SQLite 32,766): found by bench/scale.py, where the one-on-one reminders' tick
failed at 100,000 people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oneonones.models import OccurrenceException
from oneonones.occurrences import exceptions_of
from oneonones.series import create_series


def test_exceptions_of_seventy_thousand_series_in_one_call(db, factory):
    manager = factory.person("boss@example.com", name="Bea Boss")
    report = factory.person("ada@example.com", name="Ada", manager=manager)
    now = datetime.now(UTC).replace(microsecond=0)
    series = create_series(manager, {"report_email": report.email, "cadence": "weekly",
                                     "starts_at": (now + timedelta(days=1)).isoformat()}, now)
    cancelled = now + timedelta(days=8)
    db.session.add(OccurrenceException(series_id=series.id, original_start=cancelled, status="cancelled"))
    db.session.commit()
    ids = [*range(10_000_000, 10_035_000), series.id, *range(20_000_000, 20_035_000)]
    found = exceptions_of(ids)
    assert len(found) == 70_001
    assert list(found[series.id]) == [cancelled]
    assert sum(len(rows) for rows in found.values()) == 1
