"""Surveys, their questions and rounds, invitations, and anonymous responses.

Storage keeps who answered, never what (``docs/anonymity.md``):

- ``Invitation.answered`` records that a person answered, for reminders and
  participation. The invitation also holds the person's *generalised*
  segment, snapshotted when the round opened (``scoring.segments``).
- An answer first waits in the ``Ballot`` box, written in the transaction
  that marks the invitation answered. ``surveys.ballots.mix`` moves ballots
  into the response store in shuffled batches of at least k, in
  transactions that write nothing about people, and deletes them.
- A ``Response`` carries no person, invitation, token, date or time: a
  random key, the round and the generalised segment. On SQLite the answer
  tables are WITHOUT ROWID, so no hidden row number keeps the order rows
  were written in.
- A personal survey link carries a random token, stored only as a hash
  (``InvitationLink``).
- A respondent who opts in to replies gets a secret link to each of their
  comments; only its hash is stored, with the comment (``Answer.reply_hash``),
  travelling sealed in the ballot. The comment's ``ReplyThread`` is written
  when the round's last ballots are mixed, with every other thread of the
  round in one shuffled transaction, and its ``ReplyMessage`` rows name no
  respondent, session or time of day.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context

from dbtypes import UTCDateTime
from extensions import db
from people.models import utcnow
from people.timezones import default_timezone
from surveys.library import fill_company

CADENCES = ("weekly", "biweekly", "monthly", "quarterly", "once")
QUESTION_KINDS = ("enps", "likert", "choice", "text")
SURVEY_STATUSES = ("active", "archived")
TENURE_BANDS = ("<1y", "1-2y", "2-5y", "5y+")
MAX_QUESTIONS = 10
MAX_COMMENT_LENGTH = 2000


def display_text(text: str) -> str:
    """A question's text as shown anywhere: ``{company}`` becomes the configured company name."""
    return fill_company(text, current_app.config["POLSO_COMPANY_NAME"]) if has_app_context() else text


class LibraryQuestion(db.Model):
    """A ready-made question HR can pick; seeded by migration, in English and Italian."""

    __tablename__ = "library_questions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(60), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    driver: so.Mapped[str] = so.mapped_column(sa.String(40))
    text_en: so.Mapped[str] = so.mapped_column(sa.String(300))
    text_it: so.Mapped[str] = so.mapped_column(sa.String(300))

    __table_args__ = (sa.CheckConstraint("kind IN ('enps', 'likert')", name="kind_known"),)

    def text_for(self, locale: str) -> str:
        """The text to show in ``locale`` (the picker's label), with the company name filled in."""
        return display_text(self.text_it if locale == "it" else self.text_en)


class Survey(db.Model):
    __tablename__ = "surveys"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    cadence: so.Mapped[str] = so.mapped_column(sa.String(10))
    starts_on: so.Mapped[date] = so.mapped_column()
    open_days: so.Mapped[int] = so.mapped_column(default=5)
    remind_days_before_close: so.Mapped[int] = so.mapped_column(default=2)
    # Rounds open at 09:00 in this time zone, so they follow daylight-saving changes.
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default=default_timezone)
    audience_department_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    min_group_size: so.Mapped[int] = so.mapped_column(default=5)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="active")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    questions: so.Mapped[list[Question]] = so.relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan")
    audience_department = so.relationship("Department")

    __table_args__ = (
        sa.CheckConstraint(f"cadence IN {CADENCES}", name="cadence_known"),
        sa.CheckConstraint("min_group_size BETWEEN 3 AND 10", name="min_group_size_range"),
        sa.CheckConstraint("open_days BETWEEN 1 AND 28", name="open_days_range"),
        sa.CheckConstraint("remind_days_before_close >= 0 AND remind_days_before_close < open_days",
                           name="reminder_in_window"),
        sa.CheckConstraint(f"status IN {SURVEY_STATUSES}", name="status_known"),
    )


class Question(db.Model):
    __tablename__ = "survey_questions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    survey_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: so.Mapped[int] = so.mapped_column()
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    text: so.Mapped[str] = so.mapped_column(sa.String(300))
    text_it: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    options: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)
    required: so.Mapped[bool] = so.mapped_column(default=False)
    library_key: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    driver: so.Mapped[str | None] = so.mapped_column(sa.String(40))

    survey: so.Mapped[Survey] = so.relationship(back_populates="questions")

    __table_args__ = (
        sa.CheckConstraint(f"kind IN {QUESTION_KINDS}", name="kind_known"),
        sa.CheckConstraint("position BETWEEN 1 AND 10", name="position_range"),
    )

    def text_for(self, locale: str) -> str:
        """The text to show in ``locale`` (Italian when there is one), with the company name filled in."""
        return display_text(self.text_it if locale == "it" and self.text_it else self.text)


class Round(db.Model):
    __tablename__ = "rounds"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    survey_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("surveys.id", ondelete="RESTRICT"), index=True)
    opens_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    closes_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    remind_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")
    invited_count: so.Mapped[int] = so.mapped_column(default=0)
    reminders_queued: so.Mapped[bool] = so.mapped_column(default=False)
    # The department and manager trees when the round opened ({"department": {id: parent}, ...},
    # -1 at the top): results are counted over these, so moves during the round change nothing.
    # Deferred: ~2 entries per person, and only counting and live participation read it.
    snapshot: so.Mapped[dict | None] = so.mapped_column(sa.JSON, deferred=True)

    survey: so.Mapped[Survey] = so.relationship()

    __table_args__ = (
        # One round per occurrence: concurrent ticks cannot open the same round twice.
        sa.UniqueConstraint("survey_id", "opens_at", name="uq_rounds_survey_opens_at"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        sa.CheckConstraint("closes_at > opens_at", name="window_positive"),
    )

    def is_open(self, now: datetime) -> bool:
        return self.status == "open" and self.opens_at <= now < self.closes_at


class Invitation(db.Model):
    """That a person was invited to a round, and whether they have answered (never what)."""

    __tablename__ = "invitations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # A flag, not a time: a timestamp could be matched against the order answers arrived in.
    answered: so.Mapped[bool] = so.mapped_column(default=False)
    # The person's generalised segment when the round opened (shared by at least k invited people);
    # their answers are stored with it. NULL for rounds opened before segments were snapshotted.
    cell_department_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("departments.id", ondelete="SET NULL"))
    cell_manager_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    cell_tenure_band: so.Mapped[str | None] = so.mapped_column(sa.String(8))

    round: so.Mapped[Round] = so.relationship()
    person = so.relationship("Person", foreign_keys=[person_id])

    __table_args__ = (sa.UniqueConstraint("round_id", "person_id", name="uq_invitations_round_person"),)


class InvitationLink(db.Model):
    """A personal survey link: the SHA-256 of its random token, never the token itself."""

    __tablename__ = "invitation_links"

    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    invitation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("invitations.id", ondelete="CASCADE"),
                                                     index=True)


class Ballot(db.Model):
    """An answer waiting to be mixed into the response store: no person, invitation or time.

    ``sealed`` is the segment and the answers, encrypted (``surveys.ballots.seal``) with a key
    that is not in the database: while it waits, a ballot is written next to its invitation's
    "answered" mark, and a copy of the database must not be able to read one through the other.
    """

    __tablename__ = "ballots"

    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    sealed: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)

    __table_args__ = ({"sqlite_with_rowid": False},)


class Response(db.Model):
    """One anonymous set of answers. Deliberately no person, invitation, date or time column."""

    __tablename__ = "responses"

    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    department_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("departments.id", ondelete="SET NULL"))
    manager_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    tenure_band: so.Mapped[str | None] = so.mapped_column(sa.String(8))

    answers: so.Mapped[list[Answer]] = so.relationship(cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint(f"tenure_band IN {TENURE_BANDS}", name="tenure_band_known"),
                      {"sqlite_with_rowid": False})


class Answer(db.Model):
    __tablename__ = "answers"

    response_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True, index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    value_int: so.Mapped[int | None] = so.mapped_column()
    value_text: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # A comment whose writer opted in to replies: the SHA-256 of the secret link they were shown once.
    reply_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True, index=True)

    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'enps' AND value_int BETWEEN 0 AND 10 AND value_text IS NULL)"
            " OR (kind = 'likert' AND value_int BETWEEN 1 AND 5 AND value_text IS NULL)"
            " OR (kind = 'choice' AND value_int >= 0 AND value_text IS NULL)"
            f" OR (kind = 'text' AND value_int IS NULL AND length(value_text) BETWEEN 1 AND {MAX_COMMENT_LENGTH})",
            name="value_fits_kind"),
        {"sqlite_with_rowid": False},
    )


REPLY_SIDES = ("respondent", "hr")
MAX_REPLY_LENGTH = 2000
MAX_REPLY_MESSAGES = 40


class ReplyThread(db.Model):
    """A comment open to replies. Its respondent reaches it by the secret whose hash the comment holds.

    No person, invitation, session or time: written for the whole round at once when its last
    ballots are mixed (``surveys.ballots.mix``), under a random key.
    """

    __tablename__ = "reply_threads"

    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    round_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    reply_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # HR closed it (abuse, or nothing more to say): nobody writes to it any more.
    closed: so.Mapped[bool] = so.mapped_column(default=False)

    messages: so.Mapped[list[ReplyMessage]] = so.relationship(
        order_by="ReplyMessage.position", cascade="all, delete-orphan", back_populates="thread")

    __table_args__ = ({"sqlite_with_rowid": False},)


class ReplyMessage(db.Model):
    """One message of a thread, in order. A reply from HR names its author (for HR only);
    the respondent's names nobody, and carries the day, never the time, it was written."""

    __tablename__ = "reply_messages"

    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    thread_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("reply_threads.id", ondelete="CASCADE"))
    position: so.Mapped[int] = so.mapped_column()
    side: so.Mapped[str] = so.mapped_column(sa.String(12))
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    sent_on: so.Mapped[date] = so.mapped_column()
    body: so.Mapped[str] = so.mapped_column(sa.Text)

    thread: so.Mapped[ReplyThread] = so.relationship(back_populates="messages")
    author = so.relationship("Person", foreign_keys=[author_id])

    __table_args__ = (
        sa.UniqueConstraint("thread_id", "position", name="uq_reply_messages_thread_position"),
        sa.CheckConstraint(f"side IN {REPLY_SIDES}", name="side_known"),
        sa.CheckConstraint("side <> 'respondent' OR author_id IS NULL", name="respondent_unnamed"),
        sa.CheckConstraint(f"length(body) BETWEEN 1 AND {MAX_REPLY_LENGTH}", name="body_fits"),
        {"sqlite_with_rowid": False},
    )
