"""Personal survey links: a random token per e-mail, stored only as its SHA-256.

The token is 32 random bytes (256 bits), so no id can be read from it and
none can be guessed. Each invitation or reminder e-mail gets a token of its
own; all of an invitation's links open the same survey. Links are deleted
when the round closes. The answer page posts the token in the form body, to
a URL that carries none, and ``logs.redact`` keeps tokens out of every log.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import gettext as _

from errors import NotFound
from extensions import db
from people.models import Person
from surveys import answering
from surveys.models import Invitation, InvitationLink, Round, Survey

ANSWER_PATH = "/s/"
TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(invitation_id: int) -> str:
    """A fresh token that opens this invitation (added to the session; the caller commits)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(InvitationLink(token_hash=_hash(token), invitation_id=invitation_id))
    return token


def personal_link(token: str) -> str:
    """The link at the public address (built without a request: ``tick`` runs from cron)."""
    return f"{current_app.config['POLSO_BASE_URL'].rstrip('/')}{ANSWER_PATH}{token}"


# Built once. With the invitation's round (without its membership snapshot), survey and person.
_BY_TOKEN = (sa.select(Invitation).join(InvitationLink)
             .options(so.joinedload(Invitation.round).defer(Round.snapshot).joinedload(Round.survey),
                      so.joinedload(Invitation.person))
             .where(InvitationLink.token_hash == sa.bindparam("token_hash")))


_PAGE = (sa.select(*answering.PAGE_COLUMNS, Person.locale, Person.timezone)
         .select_from(InvitationLink).join(Invitation, Invitation.id == InvitationLink.invitation_id)
         .join(Round, Round.id == Invitation.round_id).join(Survey, Survey.id == Round.survey_id)
         .join(Person, Person.id == Invitation.person_id)
         # Someone who has left answers nothing, by link as by API token.
         .where(InvitationLink.token_hash == sa.bindparam("token_hash"), Person.active.is_(True)))


def page_from_token(token: object) -> answering.AnswerPage:
    """What the answer page behind this link shows, read as plain rows (two statements, no ORM objects).

    :raise NotFound: for a token that opens no invitation.
    """
    row = None
    if isinstance(token, str) and 0 < len(token) <= 200:
        row = db.session.connection().execute(_PAGE, {"token_hash": _hash(token)}).first()
    if row is None:
        raise NotFound(_("This link is not valid."))
    return answering.page_of(row)


def invitation_from_token(token: object) -> Invitation:
    """:raise NotFound: for a token that opens no invitation."""
    invitation = None
    if isinstance(token, str) and 0 < len(token) <= 200:
        invitation = db.session.scalar(_BY_TOKEN, {"token_hash": _hash(token)})
    if invitation is None:
        raise NotFound(_("This link is not valid."))
    return invitation


def delete_round_links(round_id: int) -> int:
    """Forget every link of a round (it is closed: they open nothing any more); the caller commits."""
    return db.session.execute(sa.delete(InvitationLink).where(InvitationLink.invitation_id.in_(
        sa.select(Invitation.id).where(Invitation.round_id == round_id)))).rowcount
