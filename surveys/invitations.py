"""Invitations: the e-mails that carry a personal link, and the rounds a person is invited to."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
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
from surveys import ballots, links
from surveys.models import Invitation, InvitationLink, Round


@dataclass(frozen=True)
class Invitee:
    """What an invitation or reminder e-mail needs of its recipient."""

    invitation_id: int
    email: str
    name: str
    locale: str | None
    timezone: str | None


def queue_invitation_mail(person: Person, invitation_id: int, round_: Round, kind: str, now: datetime) -> None:
    """Queue one person's invitation or reminder (``kind``) with a personal link of its own; the caller commits."""
    queue_invitation_mails(round_, [Invitee(invitation_id, person.email, person.name, person.locale,
                                            person.timezone)], kind, now)


# Invitees per batch of links and e-mails: their bodies (a few KB each) are written, then dropped.
BATCH = 2000


def queue_invitation_mails(round_: Round, invitees: Iterable[Invitee], kind: str, now: datetime) -> int:
    """Queue an invitation or reminder (``kind``) for each invitee, each with a personal link of its own,
    in the current transaction; the caller commits. Returns how many e-mails were queued.

    Each e-mail is what ``mail.render("survey_<kind>", ...)`` makes for its recipient: in their language,
    with the closing time in their time zone (the survey's if they have none), their name and their link.
    The templates are rendered once per language and time zone (``mail.render_each``), the links and
    messages are written with Core in batches, and a message whose key (``<kind>:<invitation id>``) is
    already in the outbox is not queued again (``mail.queue_many``).
    """
    survey = round_.survey
    company = current_app.config["POLSO_COMPANY_NAME"]
    groups: dict[tuple[str, str], list[Invitee]] = defaultdict(list)
    for invitee in invitees:
        groups[(invitee.locale or "en", invitee.timezone or survey.timezone)].append(invitee)
    queued = 0
    for (locale, timezone), members in groups.items():
        # Formatted here: the e-mail is rendered outside the person's session, in their time zone.
        closes_text = format_datetime(round_.closes_at, "medium", tzinfo=ZoneInfo(timezone), locale=locale)

        def context(values, closes_text=closes_text):
            return {"person": SimpleNamespace(name=values["name"]), "survey": survey, "link": values["link"],
                    "closes_text": closes_text, "company": company}

        for start in range(0, len(members), BATCH):
            batch = members[start:start + BATCH]
            tokens = [_new_token() for _ in batch]
            ballots.insert_rows(InvitationLink.__table__, [
                {"token_hash": token_hash, "invitation_id": invitee.invitation_id}
                for invitee, (_token, token_hash) in zip(batch, tokens, strict=True)])
            values = [{"name": invitee.name, "link": links.personal_link(token)}
                      for invitee, (token, _hash) in zip(batch, tokens, strict=True)]
            rendered = mail.render_each(f"survey_{kind}", locale, context, values)
            queued += mail.queue_many(
                ({"to": invitee.email, "subject": subject, "body_text": text, "body_html": html, "kind": kind,
                  "dedupe_key": f"{kind}:{invitee.invitation_id}"}
                 for invitee, (subject, text, html) in zip(batch, rendered, strict=True)), now=now)
    return queued


def _new_token() -> tuple[str, str]:
    """A fresh token and the hash it is stored as: what ``links.new_token`` adds, for a Core insert."""
    token = secrets.token_urlsafe(links.TOKEN_BYTES)
    return token, links._hash(token)


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
