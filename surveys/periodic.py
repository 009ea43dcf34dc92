"""The surveys' share of the periodic work: close, mix, open, remind (see ``tasks.tick``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from errors import Conflict
from extensions import db
from mail import services as mail
from people.models import Person
from surveys import ballots, building, invitations, rounds
from surveys.models import Invitation, Round, Survey
from surveys.schedule import due_occurrence, window

logger = logging.getLogger("polso.surveys")


@dataclass
class TickReport:
    opened: list[int] = field(default_factory=list)
    invited: int = 0
    reminded: int = 0
    closed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    mixed: int = 0
    mail: Any = None


def tick(now: datetime, *, on_close: rounds.OnClose, send_mail: bool = True) -> TickReport:
    """Do all periodic work that is due at ``now``; idempotent and safe to run concurrently.

    Closes rounds whose window has ended (``on_close`` then stores each one's
    results), opens due rounds and invites their audience, queues reminders,
    then (unless ``send_mail`` is false, as when ``tasks.tick`` runs every
    feature's work first) sends the outbox. Every step claims its work with a
    conditional write, so a second tick (at the same time or later) finds
    nothing left to do.
    """
    report = TickReport()
    for round_id in db.session.scalars(sa.select(Round.id).where(Round.status == "open",
                                                                 Round.closes_at <= now)).all():
        # Waits for answers being submitted (they hold the round FOR KEY SHARE, which only FOR UPDATE waits
        # for), so none arrives after this.
        db.session.execute(sa.select(Round.id).where(Round.id == round_id).with_for_update())
        closed = db.session.execute(sa.update(Round).where(Round.id == round_id, Round.status == "open")
                                    .values(status="closed"))
        if closed.rowcount == 1:
            # The last ballots, however few, then the results, which never change again: one
            # transaction that writes nothing about people.
            k = db.session.scalar(sa.select(Survey.min_group_size).join(Round).where(Round.id == round_id))
            ballots.mix(round_id, k, final=True)
            on_close(round_id, recount=False)
            report.closed.append(round_id)
        db.session.commit()
        if closed.rowcount == 1:
            rounds.forget_answering_order(round_id)
            db.session.commit()
    report.mixed = rounds.mix_ballots(on_close=on_close)

    for survey in db.session.scalars(sa.select(Survey).where(Survey.status == "active")).all():
        day = due_occurrence(survey, now)
        if day is None or rounds.has_open_round(survey) or (survey.cadence == "once" and building.has_rounds(survey)):
            continue
        opens, closes, remind = window(survey, day)
        try:
            round_ = rounds.start_round(survey, opens, closes, remind, now)
        except Conflict as refusal:
            report.refused.append((survey.id, refusal.message))
            logger.warning("Round of survey %s not opened: %s", survey.id, refusal.message)
            continue
        if round_ is not None:
            report.opened.append(round_.id)
            report.invited += round_.invited_count

    for round_ in db.session.scalars(sa.select(Round).where(
            Round.status == "open", Round.reminders_queued.is_(False), Round.remind_at <= now,
            Round.closes_at > now)).all():
        claimed = db.session.execute(sa.update(Round).where(
            Round.id == round_.id, Round.reminders_queued.is_(False)).values(reminders_queued=True))
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        pending = [invitations.Invitee(*row) for row in db.session.execute(
            sa.select(Invitation.id, Person.email, Person.name, Person.locale, Person.timezone)
            .join(Person, Invitation.person_id == Person.id)
            .where(Invitation.round_id == round_.id, Invitation.answered.is_(False), Person.active)
            .order_by(Invitation.id))]
        invitations.queue_invitation_mails(round_, pending, "reminder", now)
        db.session.commit()
        report.reminded += len(pending)

    if send_mail:
        report.mail = mail.send_all_pending(now)
    return report
