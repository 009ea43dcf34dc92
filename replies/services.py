"""Conversations about comments: HR replies, the respondent answers through their secret link.

Two sides, and neither learns more about the other than the thread says:

- The respondent holds the secret (``surveys.reply_links``); the server finds the thread by its
  hash. They are never signed in here (``replies.views`` sets the visitor anonymous even where a
  session cookie came along), and their messages carry the day, never the time.
- HR reads a thread only while the guard shows its comment: the round is closed, the company's
  comments pass the comment threshold, and the comment is in the stored sample that the results
  page shows. Comments are never shown below the survey's whole audience, so no manager's
  results page shows one, and only HR replies. HR's replies are signed "HR" to the respondent.

HR can close a thread (abuse, or nothing more to say): then nobody writes to it.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

import audit
from dashboards import services as results
from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from people.models import Person
from surveys.models import (
    MAX_REPLY_LENGTH,
    MAX_REPLY_MESSAGES,
    Answer,
    ReplyMessage,
    ReplyThread,
    Round,
)
from surveys.reply_links import reply_hash

MAX_SECRET_LENGTH = 200


@dataclass
class Thread:
    """A thread as one side may see it: the comment (None where the guard hides it) and the messages."""

    thread: ReplyThread
    round: Round
    comment: str | None
    messages: list[ReplyMessage] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return self.thread.id

    @property
    def closed(self) -> bool:
        return self.thread.closed

    @property
    def awaiting_hr(self) -> bool:
        """Nobody from HR has answered the respondent's last word (or the opt-in itself)."""
        return not self.thread.closed and (not self.messages or self.messages[-1].side == "respondent")

    @property
    def respondent_may_write(self) -> bool:
        """The respondent answers HR: after an HR message, once, so a link cannot flood the thread."""
        return (not self.thread.closed and bool(self.messages) and self.messages[-1].side == "hr"
                and len(self.messages) < MAX_REPLY_MESSAGES)

    @property
    def hr_may_write(self) -> bool:
        return not self.thread.closed and len(self.messages) < MAX_REPLY_MESSAGES


def _comment_text(thread: ReplyThread) -> str:
    return db.session.scalar(sa.select(Answer.value_text).where(Answer.reply_hash == thread.reply_hash)) or ""


def _load(thread: ReplyThread, comment: str | None) -> Thread:
    return Thread(thread, db.session.get(Round, thread.round_id), comment, list(thread.messages))


# --- the respondent's side -----------------------------------------------------------------------


def for_secret(secret: object) -> Thread | None:
    """The thread a secret opens, with its comment; None for any secret that opens none yet (its
    ballot is still waiting, its round is open, or it was never issued: the page cannot tell)."""
    if not isinstance(secret, str) or not 16 <= len(secret) <= MAX_SECRET_LENGTH:
        return None
    thread = db.session.scalar(sa.select(ReplyThread).where(ReplyThread.reply_hash == reply_hash(secret)))
    if thread is None:
        return None
    return _load(thread, _comment_text(thread))


def _body(text: object) -> str:
    body = text.strip() if isinstance(text, str) else ""
    if not body:
        raise ValidationError(_("Write a message."), {"body": _("Write a message.")})
    if len(body) > MAX_REPLY_LENGTH:
        message = _("At most %(max)s characters.", max=MAX_REPLY_LENGTH)
        raise ValidationError(message, {"body": message})
    return body


def _append(thread: Thread, side: str, author: Person | None, body: str, today: date) -> ReplyMessage:
    """Add the next message, only while the thread is open: one statement that checks and writes, so
    a close committed meanwhile refuses it. Of two writers at once, the later gets a Conflict."""
    position = (thread.messages[-1].position if thread.messages else 0) + 1
    values = {"id": uuid.uuid4(), "thread_id": thread.thread.id, "position": position, "side": side,
              "author_id": author.id if author is not None else None, "sent_on": today, "body": body}
    still_open = sa.select(*(sa.literal(v, type_=ReplyMessage.__table__.c[k].type) for k, v in values.items())
                           ).where(sa.select(ReplyThread.id).where(ReplyThread.id == thread.thread.id,
                                                                   ReplyThread.closed.is_(False))
                                   .correlate(None).exists())
    try:
        written = len(db.session.execute(sa.insert(ReplyMessage.__table__).from_select(list(values), still_open)
                                         .returning(ReplyMessage.__table__.c.id)).all())
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Someone wrote in this conversation at the same moment. Reload it and try again.")) from None
    if written != 1:
        db.session.rollback()
        raise Conflict(_("This conversation is closed."))
    return db.session.get(ReplyMessage, values["id"])


def respond(secret: object, text: object, today: date) -> Thread:
    """The respondent's answer to HR, through their secret; the caller commits.

    Stored with the day only. :raise NotFound: the secret opens no thread.
    :raise Conflict: the thread is closed, or HR has not written since their last answer.
    :raise ValidationError: an empty or too long message.
    """
    thread = for_secret(secret)
    if thread is None:
        raise NotFound(_("This link opens no conversation yet."))
    body = _body(text)
    if thread.closed:
        raise Conflict(_("HR closed this conversation."))
    if not thread.respondent_may_write:
        raise Conflict(_("You can answer once HR has replied."))
    thread.messages.append(_append(thread, "respondent", None, body, today))
    return thread


# --- HR's side -----------------------------------------------------------------------------------


def _require_hr(viewer: Person) -> None:
    if not viewer.is_hr:
        # Comments are shown only for a survey's whole audience, on HR's results page.
        raise Forbidden(_("Only HR reads and answers comments."))


def _shown(round_: Round) -> list[str]:
    return results.shown_comments(round_.survey, round_)


def _shown_threads(round_: Round) -> dict[uuid.UUID, str]:
    """The round's threads HR may open, with their comment: as many threads for a text as the guard
    shows comments with that text (the stored sample holds at most so many), and no more."""
    room = Counter(_shown(round_))
    allowed: dict[uuid.UUID, str] = {}
    for thread_id, text in db.session.execute(
            sa.select(ReplyThread.id, Answer.value_text).join(Answer, Answer.reply_hash == ReplyThread.reply_hash)
            .where(ReplyThread.round_id == round_.id).order_by(ReplyThread.id)):
        if room[text] > 0:
            room[text] -= 1
            allowed[thread_id] = text
    return allowed


def visible_threads(viewer: Person) -> list[Thread]:
    """Every thread whose comment the guard shows HR, newest round first (a comment the guard hides,
    or one left out of the stored sample, is not listed)."""
    _require_hr(viewer)
    out = []
    for round_ in db.session.scalars(sa.select(Round).where(
            Round.status == "closed", Round.id.in_(sa.select(ReplyThread.round_id)))
            .order_by(Round.closes_at.desc(), Round.id.desc())):
        for thread_id, text in _shown_threads(round_).items():
            out.append(_load(db.session.get(ReplyThread, thread_id), text))
    return out


def awaiting_reply(viewer: Person) -> list[Thread]:
    """Threads HR can see where the respondent is waiting for an answer (for HR's home)."""
    return [t for t in visible_threads(viewer) if t.awaiting_hr]


def staff_thread(viewer: Person, thread_id: uuid.UUID) -> Thread:
    """:raise NotFound: no such thread, or one whose comment the guard does not show (the same)."""
    _require_hr(viewer)
    thread = db.session.get(ReplyThread, thread_id)
    round_ = db.session.get(Round, thread.round_id) if thread is not None else None
    text = _shown_threads(round_).get(thread.id) if round_ is not None else None
    if text is None:
        raise NotFound(_("No such conversation."))
    return _load(thread, text)


def reply(viewer: Person, thread_id: uuid.UUID, text: object, now: datetime) -> Thread:
    """HR's reply; the caller commits. :raise Conflict: closed or full. :raise ValidationError."""
    thread = staff_thread(viewer, thread_id)
    body = _body(text)
    if not thread.hr_may_write:
        raise Conflict(_("This conversation is closed.") if thread.closed
                       else _("This conversation has reached its %(n)s messages.", n=MAX_REPLY_MESSAGES))
    thread.messages.append(_append(thread, "hr", viewer, body, now.date()))
    audit.record("comment.replied", actor=viewer, target=("reply_thread", None), now=now,
                 summary=f"round {thread.round.id}")
    return thread


def close(viewer: Person, thread_id: uuid.UUID, now: datetime) -> Thread:
    """Close a thread for good; the caller commits. Closing a closed thread changes nothing."""
    thread = staff_thread(viewer, thread_id)
    if not thread.closed:
        thread.thread.closed = True
        audit.record("comment.thread_closed", actor=viewer, target=("reply_thread", None), now=now,
                     summary=f"round {thread.round.id}")
    return thread


def threads_by_comment(viewer: Person, round_: Round) -> dict[str, list[uuid.UUID]]:
    """For the results page: a shown comment's text → the threads open to replies with that text (two
    people may write the same words; each listed comment takes one). Empty for anyone but HR."""
    if not viewer.is_hr:
        return {}
    found: dict[str, list[uuid.UUID]] = defaultdict(list)
    for thread_id, text in _shown_threads(round_).items():
        found[text].append(thread_id)
    return dict(found)


def forget_message_order(today: date) -> int:
    """Rewrite the respondents' messages of today and yesterday in one transaction (PostgreSQL only;
    the caller commits), so that their transaction ids no longer say at what time of the day each was
    written, only that it was before this rewrite, like every other of those days. ``pulses tick`` runs
    it on each tick. Returns how many rows it rewrote."""
    if db.session.get_bind().dialect.name != "postgresql":
        return 0
    return db.session.execute(sa.update(ReplyMessage).where(
        ReplyMessage.side == "respondent", ReplyMessage.sent_on >= today - timedelta(days=1))
        .values(position=ReplyMessage.position)).rowcount
