"""One-time links that set a password: HR's invitations to sign in (7 days) and "forgot password" (1 hour).

A link carries a random key; only its SHA-256 is stored (``CredentialLink``), so a copy of the
database cannot be used to sign in. A link works once: using it is a conditional UPDATE, so two
tabs racing with the same link set one password. Setting a password through a link, like any
password change, signs the person out everywhere and revokes their API tokens, and then signs
this browser in.

The e-mails go through the outbox in the person's language. They are of the kinds
``account_invitation`` and ``password_reset``, which the outbox deletes once sent, so no copy of a
working link stays in the database.

"Forgot password" answers the same whether or not the address belongs to anyone; every request
is counted (``ResetRequest``) whoever it names, so the limits say nothing about who exists either.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

import audit
import inputs
from errors import Conflict, TooManyAttempts
from extensions import db
from mail import services as mail
from people import auth, passwords, signin
from people.models import CredentialLink, Person, ResetRequest

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
# "Forgot password": requests per address typed, and per client address (an office behind one NAT), an hour.
RESETS_PER_EMAIL = 3
RESETS_PER_ADDRESS = 30
RESET_WINDOW = timedelta(hours=1)

# What HR sees about a person's sign-in (``sign_in_status``).
NOT_INVITED, INVITED, ACCEPTED, EXPIRED, HAS_PASSWORD = "not_invited", "invited", "accepted", "expired", "password"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_link(person: Person, purpose: str, lifetime: timedelta, now: datetime) -> str:
    raw = secrets.token_urlsafe(32)
    db.session.add(CredentialLink(person_id=person.id, purpose=purpose, key_hash=_digest(raw), created_at=now,
                                  expires_at=now + lifetime))
    return raw


# --- invitations -------------------------------------------------------------------------------

def latest_invitations(person_ids: Iterable[int]) -> dict[int, CredentialLink]:
    """Each person's newest invitation, for the People page and the API."""
    ids = list(person_ids)
    if not ids:
        return {}
    newest = (sa.select(sa.func.max(CredentialLink.id)).where(
        CredentialLink.purpose == "invitation", CredentialLink.person_id.in_(ids))
        .group_by(CredentialLink.person_id))
    rows = db.session.scalars(sa.select(CredentialLink).where(CredentialLink.id.in_(newest)))
    return {row.person_id: row for row in rows}


def sign_in_status(person: Person, invitation: CredentialLink | None, now: datetime) -> str:
    """``not_invited``, ``invited`` (a link is open), ``accepted``, ``expired``, or ``password``
    (a password set another way, such as ``users create``, with no invitation)."""
    if invitation is None:
        return HAS_PASSWORD if person.password_hash else NOT_INVITED
    if invitation.used_at is not None:
        return ACCEPTED
    return EXPIRED if invitation.expires_at <= now else INVITED


def can_invite(person: Person, invitation: CredentialLink | None, now: datetime) -> bool:
    return person.active and sign_in_status(person, invitation, now) in (NOT_INVITED, INVITED, EXPIRED)


def invite(person: Person, *, by: Person | None, now: datetime) -> None:
    """Send ``person`` an invitation to sign in, or send it again; the caller commits.

    A new link replaces any earlier one not yet used, which stops working.
    :raise Conflict: the person is inactive, or already signed in (they can use "forgot password").
    """
    current = latest_invitations([person.id]).get(person.id)
    if not person.active:
        raise Conflict(_("%(name)s is inactive; reactivate them before inviting them.", name=person.name))
    if not can_invite(person, current, now):
        raise Conflict(_("%(name)s can already sign in; if they forgot their password, the sign-in page "
                         "sends them a new link.", name=person.name))
    db.session.execute(sa.delete(CredentialLink).where(
        CredentialLink.person_id == person.id, CredentialLink.purpose == "invitation",
        CredentialLink.used_at.is_(None)).execution_options(synchronize_session="fetch"))
    raw = _new_link(person, "invitation", INVITATION_LIFETIME, now)
    sso = not signin.password_login_allowed(person)
    subject, text, html = mail.render(
        "account_invitation", person.locale, person=person, key=raw, sso=sso,
        days=INVITATION_LIFETIME.days, company=current_app.config["POLSO_COMPANY_NAME"],
        provider=current_app.config["OIDC_PROVIDER_NAME"])
    mail.queue(person.email, subject, text, body_html=html, kind="account_invitation", now=now)
    audit.record("person.invited", actor=by, target=person, summary=person.email, now=now)


@dataclass(frozen=True)
class Invited:
    sent: list[Person]
    skipped: list[Person]  # inactive, or able to sign in already


def invite_many(people: Iterable[Person], *, by: Person | None, now: datetime) -> Invited:
    """Invite each of ``people`` who may be invited, skipping the others; commits once."""
    people = list(people)
    latest = latest_invitations(p.id for p in people)
    sent, skipped = [], []
    for person in people:
        if can_invite(person, latest.get(person.id), now):
            invite(person, by=by, now=now)
            sent.append(person)
        else:
            skipped.append(person)
    db.session.commit()
    return Invited(sent, skipped)


def not_yet_invited(now: datetime) -> list[Person]:
    """Active people who cannot sign in and have no open invitation: "everyone not yet invited"."""
    people = db.session.scalars(sa.select(Person).where(Person.active, Person.password_hash.is_(None))
                                .order_by(Person.id)).all()
    latest = latest_invitations(p.id for p in people)
    return [p for p in people if sign_in_status(p, latest.get(p.id), now) in (NOT_INVITED, EXPIRED)]


# --- forgot password ---------------------------------------------------------------------------

def request_reset(email: str, remote_addr: str | None, now: datetime) -> None:
    """Send a one-hour reset link if ``email`` belongs to an active person who may use a password.

    The caller answers the same in every case. Commits.
    :raise TooManyAttempts: more than ``RESETS_PER_EMAIL`` requests for this address, or
        ``RESETS_PER_ADDRESS`` from this client, within the hour (whether or not the address exists).
    """
    key = inputs.email_key(email)[:254]
    addr = remote_addr[:64] if remote_addr else None
    since = now - RESET_WINDOW
    # Recorded and committed before the others are counted, so that of any number arriving at once
    # at most the limit go on (as signin.authenticate does); a refused request is then forgotten.
    request_row = ResetRequest(email=key, remote_addr=addr, at=now)
    db.session.add(request_row)
    db.session.commit()
    others = sa.and_(ResetRequest.at > since, ResetRequest.id != request_row.id)
    by_email = db.session.scalar(sa.select(sa.func.count()).where(ResetRequest.email == key, others))
    by_addr = db.session.scalar(sa.select(sa.func.count()).where(
        ResetRequest.remote_addr == addr, others)) if addr else 0
    if by_email >= RESETS_PER_EMAIL or by_addr >= RESETS_PER_ADDRESS:
        db.session.execute(sa.delete(ResetRequest).where(ResetRequest.id == request_row.id))
        db.session.commit()
        refusal = TooManyAttempts(_("Too many reset requests. Try again in an hour."))
        refusal.retry_after = int(RESET_WINDOW.total_seconds())
        raise refusal
    person = db.session.scalar(sa.select(Person).where(Person.email == key))
    eligible = person is not None and person.active and signin.password_login_allowed(person)
    # The e-mail is written whoever asked, so that the answer takes about as long either way.
    raw = secrets.token_urlsafe(32)
    subject, text, html = mail.render("password_reset", person.locale if eligible else None,
                                      person=person if eligible else Person(name="", email=key), key=raw,
                                      minutes=int(RESET_LIFETIME.total_seconds() // 60))
    if eligible:
        db.session.add(CredentialLink(person_id=person.id, purpose="reset", key_hash=_digest(raw), created_at=now,
                                      expires_at=now + RESET_LIFETIME))
        mail.queue(person.email, subject, text, body_html=html, kind="password_reset", now=now)
        audit.record("password.reset_requested", actor=person, target=person, summary=person.email, now=now,
                     remote_addr=remote_addr)
    db.session.commit()


def purge_reset_requests(now: datetime) -> int:
    """Forget reset requests older than their window and reset links expired a day ago. Commits."""
    gone = db.session.execute(sa.delete(ResetRequest).where(ResetRequest.at <= now - RESET_WINDOW)
                              .execution_options(synchronize_session=False)).rowcount
    db.session.execute(sa.delete(CredentialLink).where(
        CredentialLink.purpose == "reset", CredentialLink.expires_at <= now - timedelta(days=1))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return gone


# --- following a link --------------------------------------------------------------------------

class LinkRefused(Exception):
    """A link that cannot set a password, with the words to say why and the page's status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def open_link(raw: str, now: datetime) -> CredentialLink:
    """The link ``raw`` names, if it can still set a password.

    :raise LinkRefused: unknown or tampered (404), already used or expired (410), or for a person
        who is inactive or signs in with single sign-on (403).
    """
    link = db.session.scalar(sa.select(CredentialLink).where(CredentialLink.key_hash == _digest(raw or "")))
    if link is None:
        raise LinkRefused(_("This link is not valid. Check that it was copied whole, or ask for a new one."), 404)
    if link.used_at is not None:
        raise LinkRefused(_("This link was already used. Sign in with your password, or ask for a new link."), 410)
    if link.expires_at <= now:
        if link.purpose == "invitation":
            raise LinkRefused(_("This invitation has expired. Ask HR to send you a new one."), 410)
        raise LinkRefused(_("This link has expired. Ask for a new one on the sign-in page."), 410)
    if not link.person.active:
        raise LinkRefused(_("This account is inactive."), 403)
    if not signin.password_login_allowed(link.person):
        raise LinkRefused(_("Sign in with %(provider)s instead: passwords are for HR admins only here.",
                            provider=current_app.config["OIDC_PROVIDER_NAME"]), 403)
    return link


def use_link(raw: str, password: str, now: datetime) -> Person:
    """Set a password through the link ``raw`` and end every session and API token of its person. Commits.

    :raise LinkRefused: as :func:`open_link`, also when another request used the link first.
    :raise ValidationError: a password the rules refuse (``password``); the link still works.
    """
    link = open_link(raw, now)
    person = link.person
    passwords.check_new_password(password, field="password", email=person.email, name=person.name)
    claimed = db.session.execute(sa.update(CredentialLink).where(
        CredentialLink.id == link.id, CredentialLink.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        raise LinkRefused(_("This link was already used. Sign in with your password, or ask for a new link."), 410)
    person.set_password(password)
    auth.sign_out_everywhere(person)
    audit.record("password.set" if link.purpose == "invitation" else "password.reset", actor=person,
                 target=person, summary=person.email, now=now)
    auth.accept_pending_invitations(person, now)
    db.session.commit()
    return person

