"""One row per thing done: who (and their e-mail then), when, what, on what, from which address.

Append-only: the code only inserts rows, and the migration adds database triggers that refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL), as for the rewards ledger. The actor's e-mail is
copied into the row, so it reads the same after the person's address changes; people are never
deleted, and ``RESTRICT`` keeps it so for anyone in the log (``SET NULL`` would be an UPDATE the
triggers refuse anyway). ``actor_id`` is NULL for what Polso does on its own (``pulses tick``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db

MAX_ACTION = 60
MAX_TARGET_TYPE = 40
MAX_SUMMARY = 500
MAX_EMAIL = 254
MAX_ADDRESS = 45  # the longest text form of an IPv6 address (with an embedded IPv4 one)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"),
                                                       index=True)
    actor_email: so.Mapped[str | None] = so.mapped_column(sa.String(MAX_EMAIL))
    action: so.Mapped[str] = so.mapped_column(sa.String(MAX_ACTION), index=True)
    target_type: so.Mapped[str | None] = so.mapped_column(sa.String(MAX_TARGET_TYPE))
    target_id: so.Mapped[int | None] = so.mapped_column()
    summary: so.Mapped[str] = so.mapped_column(sa.String(MAX_SUMMARY))
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(MAX_ADDRESS))

    __table_args__ = (
        sa.CheckConstraint(f"length(action) BETWEEN 3 AND {MAX_ACTION} AND action = lower(action) "
                           "AND action LIKE '%_._%'", name="action_code"),
        sa.CheckConstraint("actor_id IS NULL OR actor_email IS NOT NULL", name="actor_email_kept"),
        sa.CheckConstraint("actor_email IS NULL OR actor_email = lower(actor_email)", name="actor_email_lower"),
        sa.CheckConstraint("target_id IS NULL OR target_type IS NOT NULL", name="target_typed"),
        sa.CheckConstraint(f"length(summary) <= {MAX_SUMMARY}", name="summary_length"),
        sa.CheckConstraint(f"remote_addr IS NULL OR length(remote_addr) BETWEEN 2 AND {MAX_ADDRESS}",
                           name="remote_addr_length"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
