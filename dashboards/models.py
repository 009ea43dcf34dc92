"""Results of closed rounds, stored once when a round closes.

A closed round never changes, so its per-group histograms are computed once
and read from here; dashboards then cost rounds × groups, not responses.
Each row is one group's counts (for departments and managers, the group's
whole subtree): ``histograms`` maps a question id to its
histogram (11 counts for eNPS 0..10, 5 for Likert 1..5, one per option for
choice questions); the company row also holds ``pairs``, for each Likert
question the 5 × 11 counts of (item answer, eNPS answer), for driver impact.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db

SEGMENT_KINDS = ("company", "department", "manager", "tenure")


class RoundResult(db.Model):
    __tablename__ = "round_results"

    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(12), primary_key=True)
    # department id, manager id, tenure band index; 0 for the company row and for "none"
    key: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Department and manager rows hold their whole subtree as the tree stood when the round
    # closed; parent_key keeps that tree (-1: under the company), so later reorganisations
    # cannot make stored totals and the guard's tree disagree.
    parent_key: so.Mapped[int | None] = so.mapped_column()
    responses: so.Mapped[int] = so.mapped_column()
    # The guard's verdict, decided once with the whole cut of the round (k is locked by then).
    shown: so.Mapped[bool] = so.mapped_column(default=False)
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    invited: so.Mapped[int | None] = so.mapped_column()
    histograms: so.Mapped[dict] = so.mapped_column(sa.JSON)
    pairs: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # Company row only: up to MAX_STORED_COMMENTS comments in an order unrelated to who wrote them
    # or when, kept so pages never read a round's raw answers.
    comments: so.Mapped[list | None] = so.mapped_column(sa.JSON)

    __table_args__ = (
        sa.CheckConstraint(f"kind IN {SEGMENT_KINDS}", name="kind_known"),
        sa.CheckConstraint("responses >= 0", name="responses_not_negative"),
        # The groups right below one (``results.children``): the primary key alone narrows only to the round's kind.
        sa.Index("ix_round_results_children", "round_id", "kind", "parent_key"),
    )


class SharedRound(db.Model):
    """HR shared this closed round's company-level results with every employee."""

    __tablename__ = "shared_rounds"

    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    shared_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    shared_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
