"""An action planned on one driver (a Likert question, or eNPS) of a survey, for one group, and its updates.

The group is a department subtree (``department_id``), a manager's team (``manager_id``) or, with
neither, the whole company. ``baseline_round_id`` is the survey's latest closed round when the action
was planned: the figures it is judged against. Updates are appended, never changed.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db
from people.models import Department, Person, utcnow
from surveys.models import Question, Round, Survey

STATUSES = ("planned", "in_progress", "done", "dropped")
OPEN_STATUSES = ("planned", "in_progress")
MAX_TITLE = 200
MAX_TEXT = 5000


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Action(db.Model):
    __tablename__ = "actions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(MAX_TITLE))
    description: so.Mapped[str | None] = so.mapped_column(sa.Text)
    survey_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    question_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True)
    department_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    manager_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    due_on: so.Mapped[date | None] = so.mapped_column()
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="planned")
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    baseline_round_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="SET NULL"))

    survey: so.Mapped[Survey] = so.relationship()
    question: so.Mapped[Question | None] = so.relationship()
    department: so.Mapped[Department | None] = so.relationship()
    manager: so.Mapped[Person | None] = so.relationship(foreign_keys=[manager_id])
    owner: so.Mapped[Person] = so.relationship(foreign_keys=[owner_id])
    created_by: so.Mapped[Person] = so.relationship(foreign_keys=[created_by_id])
    baseline_round: so.Mapped[Round | None] = so.relationship()
    updates: so.Mapped[list[ActionUpdate]] = so.relationship(
        back_populates="action", order_by="ActionUpdate.id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status_known"),
        sa.CheckConstraint("department_id IS NULL OR manager_id IS NULL", name="one_group"),
    )


class ActionUpdate(db.Model):
    """A note on an action's progress, a change of its status, or both."""

    __tablename__ = "action_updates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    action_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))
    body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    from_status: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    to_status: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    action: so.Mapped[Action] = so.relationship(back_populates="updates")
    author: so.Mapped[Person] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint(f"from_status IS NULL OR from_status IN {_in(STATUSES)}", name="from_status_known"),
        sa.CheckConstraint(f"to_status IS NULL OR to_status IN {_in(STATUSES)}", name="to_status_known"),
    )
