"""Invitations: the e-mails that carry a personal link, and the rounds a person is invited to."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.dates import format_datetime
from flask import current_app
from flask_babel import gettext as _

from errors import Forbidden, NotFound
from extensions import db
from mail import services as mail
from people.models import Person
from surveys import links
from surveys.models import Invitation, Round


def queue_invitation_mail(person: Person, invitation_id: int, round_: Round, kind: str, now: datetime) -> None:
    locale = person.locale or "en"
    survey = round_.survey
    # Formatted here: the e-mail is rendered outside the person's session, in their time zone.
    closes_text = format_datetime(round_.closes_at, "medium", tzinfo=ZoneInfo(person.timezone or survey.timezone),
                                  locale=locale)
    link = links.personal_link(links.new_token(invitation_id))
    subject, text, html = mail.render(
        f"survey_{kind}", locale, person=person, survey=survey, link=link,
        closes_text=closes_text, company=current_app.config["POLSO_COMPANY_NAME"])
    mail.queue(person.email, subject, text, body_html=html, kind=kind,
               dedupe_key=f"{kind}:{invitation_id}", now=now)


def open_invitations(person: Person, now: datetime) -> list[Invitation]:
    """The person's invitations to rounds open now that they have not answered."""
    return list(db.session.scalars(
        sa.select(Invitation).join(Round).where(
            Invitation.person_id == person.id, Invitation.answered.is_(False), Round.status == "open",
            Round.opens_at <= now, Round.closes_at > now).order_by(Round.closes_at)))


def invitation_for(person: Person, round_id: int) -> Invitation:
    """:raise NotFound: no such round. :raise Forbidden: the person was not invited to it."""
    # One statement on the answering path: the invitation with its round and survey (not the round's
    # membership snapshot, which answering never reads); the round alone only when there is none.
    invitation = db.session.scalar(
        sa.select(Invitation).options(so.joinedload(Invitation.round).defer(Round.snapshot)
                                      .joinedload(Round.survey))
        .where(Invitation.round_id == round_id, Invitation.person_id == person.id))
    if invitation is None:
        if db.session.get(Round, round_id) is None:
            raise NotFound(_("No such round."))
        raise Forbidden(_("You are not invited to this round."))
    return invitation
