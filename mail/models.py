"""The outbox: one row per e-mail, written in the caller's transaction and sent by ``tick``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db


class OutboxMessage(db.Model):
    """An e-mail waiting to be sent, being sent, sent, or given up on.

    ``next_attempt_at`` is when a sender may try it next; NULL once it is sent
    or after the last allowed attempt failed (``sent_at`` NULL then tells the
    two apart). ``claimed_until`` is a sender's lease: while it lies in the
    future no other sender touches the row.
    """

    __tablename__ = "outbox"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    # Text, not a bounded string: a long subject must never make the caller's transaction fail.
    subject: so.Mapped[str] = so.mapped_column(sa.Text())
    body_text: so.Mapped[str] = so.mapped_column(sa.Text())
    body_html: so.Mapped[str | None] = so.mapped_column(sa.Text())
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    dedupe_key: so.Mapped[str | None] = so.mapped_column(sa.String(200), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    claimed_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text())

    __table_args__ = (sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} to {self.to_address!r}>"
