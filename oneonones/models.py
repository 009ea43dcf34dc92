"""One-on-one series and their occurrences, agenda items, notes and action items.

A series stores its schedule as an RFC 5545 RRULE with a start instant and a
time zone; occurrences are expanded from it, never stored. An occurrence is
named by its original start (UTC), the iCalendar RECURRENCE-ID: exceptions,
agenda items, action items and notes refer to it by ``(series_id,
occurrence_start)``, so moving a meeting keeps everything attached to it.

``PrivateNote`` rows are read only by their author: no query in this package
selects them by anything but ``author_id``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db
from people.models import Person, utcnow

CADENCES = ("weekly", "biweekly", "monthly")
SERIES_STATUSES = ("active", "paused", "ended")
EXCEPTION_STATUSES = ("moved", "cancelled")
MIN_DURATION, MAX_DURATION = 15, 480
MAX_ITEM_LENGTH = 300
MAX_NOTE_LENGTH = 10_000


class Series(db.Model):
    """A recurring one-on-one between a manager and one direct report.

    ``ends_at`` (set when the series ends) and ``paused_at`` (while paused)
    bound the occurrences: none whose original start is at or after them.
    ``sequence`` and ``changed_at`` are what calendar clients are told of changes.
    A schedule change after the first meeting ends this series and starts
    a new one with ``previous_id`` pointing back, so past meetings keep their times.
    """

    __tablename__ = "oneonone_series"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    manager_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    report_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    cadence: so.Mapped[str] = so.mapped_column(sa.String(10))
    rrule: so.Mapped[str] = so.mapped_column(sa.String(200))
    starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    duration_minutes: so.Mapped[int] = so.mapped_column(default=60)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="active")
    paused_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    ends_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    end_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    previous_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("oneonone_series.id", ondelete="SET NULL"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    #: The iCalendar SEQUENCE of its events: raised by every change to the series or a meeting of it.
    sequence: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: When the series or one of its meetings last changed; None while nothing has since ``created_at``.
    changed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    manager: so.Mapped[Person] = so.relationship(foreign_keys=[manager_id])
    report: so.Mapped[Person] = so.relationship(foreign_keys=[report_id])

    __table_args__ = (
        sa.CheckConstraint(f"cadence IN {CADENCES}", name="cadence_known"),
        sa.CheckConstraint(f"status IN {SERIES_STATUSES}", name="status_known"),
        sa.CheckConstraint(f"duration_minutes BETWEEN {MIN_DURATION} AND {MAX_DURATION}", name="duration_range"),
        sa.CheckConstraint("manager_id <> report_id", name="two_people"),
        sa.CheckConstraint("status <> 'paused' OR paused_at IS NOT NULL", name="paused_has_time"),
        sa.CheckConstraint("status <> 'ended' OR ends_at IS NOT NULL", name="ended_has_time"),
        sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('ended', 'rescheduled', 'manager_changed')",
                           name="end_reason_known"),
        # One current series per manager and report; ended ones are history.
        sa.Index("uq_oneonone_series_current_pair", "manager_id", "report_id", unique=True,
                 sqlite_where=sa.text("status <> 'ended'"), postgresql_where=sa.text("status <> 'ended'")),
    )

    def __repr__(self) -> str:
        return f"<Series {self.id} {self.cadence} {self.manager_id}->{self.report_id}>"

    def involves(self, person_id: int) -> bool:
        return person_id in (self.manager_id, self.report_id)

    @property
    def modified_at(self) -> datetime:
        """When the series or one of its meetings last changed (its creation, if nothing did since)."""
        return self.changed_at or self.created_at

    def until(self, *, ignore_pause: bool = False) -> datetime | None:
        """No occurrence starts (originally) at or after this: the end, or the pause unless ignored."""
        bounds = [b for b in (self.ends_at, None if ignore_pause else self.paused_at) if b is not None]
        return min(bounds) if bounds else None


class OccurrenceException(db.Model):
    """One occurrence moved to another time or cancelled; the others are untouched."""

    __tablename__ = "oneonone_exceptions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    series_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("oneonone_series.id", ondelete="CASCADE"))
    original_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    status: so.Mapped[str] = so.mapped_column(sa.String(10))
    starts_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    ends_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    changed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("series_id", "original_start", name="uq_oneonone_exceptions_occurrence"),
        sa.CheckConstraint(f"status IN {EXCEPTION_STATUSES}", name="status_known"),
        sa.CheckConstraint("status <> 'moved' OR (starts_at IS NOT NULL AND ends_at > starts_at)",
                           name="moved_has_times"),
    )


class AgendaItem(db.Model):
    """A shared agenda point, added for one occurrence and shown on later ones until ticked off.

    ``done_occurrence`` is the occurrence (original start) at which it was ticked.
    """

    __tablename__ = "oneonone_agenda_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    series_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("oneonone_series.id", ondelete="CASCADE"),
                                                 index=True)
    occurrence_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    text: so.Mapped[str] = so.mapped_column(sa.String(MAX_ITEM_LENGTH))
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    done_occurrence: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    done_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"))
    done_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    author: so.Mapped[Person] = so.relationship(foreign_keys=[author_id])

    __table_args__ = (
        sa.CheckConstraint("done_occurrence IS NULL OR done_occurrence >= occurrence_start",
                           name="done_not_before_added"),
    )


class ActionItem(db.Model):
    """Something the manager or the report agreed to do, by an optional due date."""

    __tablename__ = "oneonone_action_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    series_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("oneonone_series.id", ondelete="CASCADE"),
                                                 index=True)
    occurrence_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    text: so.Mapped[str] = so.mapped_column(sa.String(MAX_ITEM_LENGTH))
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    due_on: so.Mapped[date | None] = so.mapped_column()
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    done_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    owner: so.Mapped[Person] = so.relationship(foreign_keys=[owner_id])


class PrivateNote(db.Model):
    """A note on one occurrence that only its author can ever read."""

    __tablename__ = "oneonone_private_notes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    series_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("oneonone_series.id", ondelete="CASCADE"))
    occurrence_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    body: so.Mapped[str] = so.mapped_column(sa.Text())
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("series_id", "occurrence_start", "author_id", name="uq_oneonone_private_notes_author"),
    )


class CalendarFeed(db.Model):
    """A person's private .ics feed.

    The secret in the URL is an HMAC of ``nonce`` under the app's SECRET_KEY;
    only its SHA-256 is stored, so the database alone does not give the URL.
    Regenerating draws a new nonce; revoking deletes the row. ``content_hash`` is the
    SHA-256 of the document last served and ``content_changed_at`` when it became that:
    the feed's ETag and Last-Modified.
    """

    __tablename__ = "oneonone_calendar_feeds"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    nonce: so.Mapped[str] = so.mapped_column(sa.String(64))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    content_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    content_changed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
