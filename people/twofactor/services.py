"""Two-factor sign-in (TOTP, RFC 6238): enrolment, checking a code or a recovery code, turning it off.

A secret is made when a person opens the setup page and kept on their row (``totp_secret``) while
``totp_enabled_at`` is empty; a code from their app confirms it and turns two-factor on. A code is
accepted once only: ``totp_last_step`` holds the newest time step accepted, and a code of that step or
an earlier one is refused. The ten recovery codes are kept as SHA-256 hashes, each good once.
Wrong codes are counted from the audit log (``twofactor.failed``), so the limit holds across app
servers and cannot be reset by replaying an old cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _

import audit
from audit.models import AuditEvent
from errors import Forbidden, TooManyAttempts, ValidationError
from extensions import db
from people import auth
from people.models import Person, RecoveryCode

RECOVERY_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt
# Codes of the step before and after now are accepted too: a phone's clock may be a little off.
DRIFT_STEPS = 1
# Wrong codes from one person within FAILURE_WINDOW before codes are refused for a while.
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)


def required_for(person: Person) -> bool:
    """Whether ``person`` must set up two-factor sign-in before anything else (``POLSO_REQUIRE_2FA``)."""
    return current_app.config.get("POLSO_REQUIRE_2FA") == "hr_admin" and person.is_hr


def provisioning_uri(person: Person, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    company = (current_app.config.get("POLSO_COMPANY_NAME") or "").replace(":", " ").strip()
    issuer = f"Polso {company}".strip() if company and company != "Polso" else "Polso"
    return pyotp.TOTP(secret).provisioning_uri(name=person.email, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """``uri`` as a QR code in inline SVG markup: no style attributes (the CSP allows none), a white
    quiet zone so it reads in dark mode too, and ``title`` as its accessible name."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=5, dark="#000",
                                     light="#fff", title=title, svgclass="qr-code", lineclass=None)
    return out.getvalue().decode().replace("<svg ", '<svg role="img" ', 1)


def spaced(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _normal(code: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (code or "").lower())


def _digest(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _totp_step(secret: str, code: str | None, now: datetime) -> int | None:
    """The time step whose code ``code`` is (within ``DRIFT_STEPS`` of now), or None."""
    code = _normal(code)
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in sorted(range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1), key=lambda s: abs(s - current)):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _wrong() -> ValidationError:
    message = _("That code is not right. Try the newest code from your app.")
    return ValidationError(message, {"code": message})


def start_enrolment(person: Person) -> str:
    """The secret ``person`` is setting up: the one waiting for its first code, or a new one. Commits.

    :raise Forbidden: two-factor sign-in is already on.
    """
    if person.has_two_factor:
        raise Forbidden(_("Two-factor sign-in is already on."))
    if not person.totp_secret:
        person.totp_secret = pyotp.random_base32()
        db.session.commit()
    return person.totp_secret


def _new_recovery_codes(person: Person) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    codes = []
    for _i in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _j in range(8))
        codes.append(f"{raw[:4]}-{raw[4:]}")
        db.session.add(RecoveryCode(person_id=person.id, code_hash=_digest(raw)))
    return codes


def enable(person: Person, code: str | None, now: datetime) -> list[str]:
    """Confirm the waiting secret with a code from the app, turn two-factor on and return the new
    recovery codes (shown once; only their hashes are kept). The code used cannot sign in. Every
    other browser signed in as ``person`` is signed out. Commits.

    :raise ValidationError: a wrong code (``code``); nothing changes.
    :raise Forbidden: already on, or no secret waiting (the setup page was not opened).
    """
    if person.has_two_factor or not person.totp_secret:
        raise Forbidden(_("Open the two-factor page again to set it up."))
    step = _totp_step(person.totp_secret, code, now)
    if step is None:
        raise _wrong()
    person.totp_enabled_at = now
    person.totp_last_step = step
    codes = _new_recovery_codes(person)
    auth.end_other_sessions(person, keep=auth.current_session() if has_request_context() else None)
    audit.record("twofactor.enabled", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()
    return codes


def recent_failures(person: Person, now: datetime) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "twofactor.failed", AuditEvent.actor_id == person.id,
        AuditEvent.at > now - FAILURE_WINDOW)) or 0


def _accept_totp(person: Person, step: int) -> bool:
    # One UPDATE that checks and moves the step, so two requests with one code cannot both pass.
    result = db.session.execute(sa.update(Person).where(
        Person.id == person.id, sa.or_(Person.totp_last_step.is_(None), Person.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _use_recovery_code(person: Person, code: str, now: datetime) -> bool:
    result = db.session.execute(sa.update(RecoveryCode).where(
        RecoveryCode.person_id == person.id, RecoveryCode.code_hash == _digest(code),
        RecoveryCode.used_at.is_(None)).values(used_at=now).execution_options(synchronize_session=False))
    return result.rowcount >= 1


def check_code(person: Person, code: str | None, now: datetime) -> None:
    """Accept a fresh code from ``person``'s app or one of their unused recovery codes (then used up).

    A code of a time step already accepted (or earlier) is refused. Each wrong code is written to the
    audit log; after ``MAX_FAILURES`` within ``FAILURE_WINDOW`` every code is refused until the
    window has moved on. Checks for one person run one at a time, so parallel guesses get no more
    tries. Commits.
    :raise TooManyAttempts: too many wrong codes lately (checked before the code).
    :raise ValidationError: a wrong, used or stale code (``code``).
    """
    _lock(person)
    _check_not_throttled(person, now)
    if person.has_two_factor and person.totp_secret:
        step = _totp_step(person.totp_secret, code, now)
        if step is not None and _accept_totp(person, step):
            db.session.commit()
            db.session.refresh(person)
            return
        if step is None and _normal(code) and _use_recovery_code(person, code, now):
            audit.record("twofactor.recovery_used", actor=person, target=person, summary=person.email, now=now)
            db.session.commit()
            return
    _record_failure(person, now)
    raise _wrong()


def _lock(person: Person) -> None:
    # A write to the person's row first: it holds their row (the whole file on SQLite) until this
    # transaction ends, so parallel guesses are checked one at a time and each counts the ones before.
    db.session.execute(sa.update(Person).where(Person.id == person.id).values(
        totp_last_step=Person.totp_last_step).execution_options(synchronize_session=False))


def _record_failure(person: Person, now: datetime) -> None:
    audit.record("twofactor.failed", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()


def _check_not_throttled(person: Person, now: datetime) -> None:
    if recent_failures(person, now) >= MAX_FAILURES:
        refusal = TooManyAttempts(_("Too many wrong codes. Wait a few minutes and sign in again."))
        refusal.retry_after = int(FAILURE_WINDOW.total_seconds())
        raise refusal


def unused_recovery_codes(person: Person) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None))) or 0


def disable(person: Person, *, password: str | None, code: str | None, now: datetime) -> None:
    """Turn two-factor off for ``person``, who proved it is them with their password or a code; the
    secret and the recovery codes are deleted. Commits.

    :raise Forbidden: two-factor is off already, or ``POLSO_REQUIRE_2FA`` requires it of them.
    :raise ValidationError: neither a right password (``password``) nor a right code (``code``); a
        wrong one counts as a wrong code.
    :raise TooManyAttempts: as :func:`check_code`.
    """
    if not person.has_two_factor:
        raise Forbidden(_("Two-factor sign-in is off."))
    if required_for(person):
        raise Forbidden(_("HR admins must keep two-factor sign-in on here."))
    if password:
        _lock(person)
        _check_not_throttled(person, now)
        if not person.check_password(password):
            _record_failure(person, now)
            message = _("That password is not correct.")
            raise ValidationError(message, {"password": message})
    elif _normal(code):
        check_code(person, code, now)
    else:
        message = _("Enter your password or a code from your app.")
        raise ValidationError(message, {"code": message})
    person.totp_secret = None
    person.totp_enabled_at = None
    person.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    audit.record("twofactor.disabled", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()


def renew_recovery_codes(person: Person, code: str | None, now: datetime) -> list[str]:
    """Replace ``person``'s recovery codes with ten new ones (returned, shown once), after a right code.
    Commits.

    :raise Forbidden: two-factor sign-in is off.
    :raise ValidationError, TooManyAttempts: as :func:`check_code`.
    """
    if not person.has_two_factor:
        raise Forbidden(_("Two-factor sign-in is off."))
    check_code(person, code, now)
    codes = _new_recovery_codes(person)
    audit.record("twofactor.recovery_renewed", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()
    return codes
