"""Rounds: who is invited, opening a round (by ``pulses tick`` or HR's "open now"), and what
happens to its ballots and links when it closes.

Functions that depend on time take ``now`` (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

import audit
from errors import Conflict
from extensions import db
from people import org
from people.models import Person
from surveys import ballots, links, membership
from surveys.invitations import Invitee, queue_invitation_mails
from surveys.models import Invitation, Round, Survey


class OnClose(Protocol):
    """What the app does once all of a closed round's answers are in the response store: store its
    results (``tasks.store_results``; results belong to dashboards, which surveys do not import).

    ``recount`` is true when late ballots reached a round whose results may already have been seen.
    The caller commits.
    """

    def __call__(self, round_id: int, *, recount: bool) -> None: ...


def audience(survey: Survey, opens_on: date) -> list[Person]:
    """Active employees (never contractors) in the survey's audience, hired by ``opens_on``."""
    return list(db.session.scalars(_audience_query(sa.select(Person), survey, opens_on)))


# What opening a round reads of each invited person: their segment, and what their e-mail needs.
_INVITEE_COLUMNS = (Person.id, Person.department_id, Person.manager_id, Person.hired_on, Person.email, Person.name,
                    Person.locale, Person.timezone)


def _audience_rows(survey: Survey, opens_on: date) -> list[sa.Row]:
    """``audience`` as rows of ``_INVITEE_COLUMNS`` (read by attribute, like a person): no ORM objects for
    the tens of thousands invited at a large company."""
    return list(db.session.execute(_audience_query(sa.select(*_INVITEE_COLUMNS), survey, opens_on)))


def _audience_query(stmt: sa.Select, survey: Survey, opens_on: date) -> sa.Select:
    stmt = stmt.where(Person.active, Person.kind == "employee",
                      sa.or_(Person.hired_on.is_(None), Person.hired_on <= opens_on))
    if survey.audience_department_id is not None:
        stmt = stmt.where(Person.department_id.in_(org.department_subtree(survey.audience_department_id)))
    return stmt.order_by(Person.id)


def _insert_round(survey: Survey, opens: datetime, closes: datetime, remind: datetime | None) -> int | None:
    """Insert the round unless another tick already did; return its id only to the winner."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(Round)
            .values(survey_id=survey.id, opens_at=opens, closes_at=closes, remind_at=remind, status="open",
                    invited_count=0, reminders_queued=False)
            .on_conflict_do_nothing(index_elements=["survey_id", "opens_at"])
            .returning(Round.id))
    return db.session.execute(stmt).scalar()


NEARBY_ROUND_DAYS = 14


def check_audience_apart(survey: Survey, people: Iterable[Person], now: datetime) -> None:
    """Refuse a round whose invited people differ by 1..k-1 from those of another survey's round that is
    open now or closed in the last 14 days: subtracting the two results would give those few answers.

    Rounds of the same survey are its trend, not compared this way (its audience is locked).
    :raise Conflict: naming the other survey.
    """
    invited = {p.id for p in people}
    since = now - timedelta(days=NEARBY_ROUND_DAYS)
    nearby = db.session.execute(
        sa.select(Round.id, Survey.title, Survey.min_group_size).join(Survey)
        .where(Round.survey_id != survey.id, sa.or_(Round.status == "open", Round.closes_at >= since))
        .order_by(Round.id)).all()
    for round_id, title, other_k in nearby:
        others = set(db.session.scalars(sa.select(Invitation.person_id).where(Invitation.round_id == round_id)))
        apart = len(invited ^ others)
        k = max(survey.min_group_size, other_k)
        if 0 < apart < k:
            raise Conflict(_(
                "This round would invite people who differ by %(n)s from a round of “%(title)s” open now or "
                "closed in the last %(days)s days. Comparing the two could reveal their answers: change the "
                "audience by at least %(k)s people, or wait.", n=apart, title=title, days=NEARBY_ROUND_DAYS, k=k))


def start_round(survey: Survey, opens: datetime, closes: datetime, remind: datetime | None,
                 now: datetime, *, by: Person | None = None) -> Round | None:
    round_id = _insert_round(survey, opens, closes, remind)
    if round_id is None:
        db.session.rollback()
        return None
    opens_on = opens.astimezone(ZoneInfo(survey.timezone)).date()
    people = _audience_rows(survey, opens_on)
    try:
        check_audience_apart(survey, people, now)
    except Conflict:
        db.session.rollback()
        raise
    trees = membership.org_trees()
    cells = membership.cells(people, opens_on, trees, survey.min_group_size)
    if people:
        ballots.insert_rows(Invitation.__table__, [
            {"round_id": round_id, "person_id": p.id, "answered": False, "cell_department_id": cells[p.id][0],
             "cell_manager_id": cells[p.id][1], "cell_tenure_band": cells[p.id][2]} for p in people])
    # A round opened late (tick did not run for a while) gets no reminder on the heels of its invitation.
    late = remind is not None and remind <= now
    db.session.execute(sa.update(Round).where(Round.id == round_id).values(
        invited_count=len(people), reminders_queued=late, snapshot=membership.trees_to_json(trees)))
    invitations = dict(db.session.execute(
        sa.select(Invitation.person_id, Invitation.id).where(Invitation.round_id == round_id)).all())
    round_ = db.session.get(Round, round_id)
    queue_invitation_mails(round_, (Invitee(invitations[p.id], p.email, p.name, p.locale, p.timezone)
                                    for p in people), "invitation", now)
    # By HR ("open now") or by Polso on the schedule (``by`` None); the count, never who was invited.
    audit.record("round.opened", actor=by, target=round_, now=now,
                 summary=f"“{survey.title}”, {len(people)} invited, closes {closes.date().isoformat()}")
    db.session.commit()
    return round_


def has_open_round(survey: Survey) -> bool:
    return db.session.scalar(
        sa.select(Round.id).where(Round.survey_id == survey.id, Round.status == "open").limit(1)) is not None


def open_round_now(survey: Survey, now: datetime, *, by: Person | None = None) -> Round:
    """Open a round immediately (HR's "open now"), for the survey's usual window length.

    :raise Conflict: if the survey is archived or already has an open round.
    """
    if survey.status != "active":
        raise Conflict(_("This survey is archived."))
    if has_open_round(survey):
        raise Conflict(_("This survey already has an open round."))
    opens = now.replace(microsecond=0)
    closes = opens + timedelta(days=survey.open_days)
    remind = closes - timedelta(days=survey.remind_days_before_close) if survey.remind_days_before_close else None
    round_ = start_round(survey, opens, closes, remind, now, by=by)
    if round_ is None:
        raise Conflict(_("This survey already has an open round."))
    return round_


def forget_answering_order(round_id: int) -> None:
    """After a round closes: delete its personal links, and on PostgreSQL rewrite its invitations so
    their transaction ids no longer say in which order people answered. The caller commits."""
    links.delete_round_links(round_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.update(Invitation).where(Invitation.round_id == round_id)
                           .values(answered=Invitation.answered))


def mix_ballots(*, on_close: OnClose) -> int:
    """Move waiting ballots into the response store, one round per transaction; return how many moved.

    Open rounds in batches of at least k; closed rounds (left by a crash between
    closing and mixing) all at once, and their stored results are counted again (``on_close``).
    """
    moved = 0
    for round_id, k, final in ballots.rounds_to_mix():
        count = ballots.mix(round_id, k, final=final)
        if count and final:
            # Its results may have been seen: a group whose figures these late ballots change is hidden.
            on_close(round_id, recount=True)
        db.session.commit()
        moved += count
    return moved
