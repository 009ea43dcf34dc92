"""People, departments and the records that let them sign in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from dbtypes import UTCDateTime
from extensions import db
from people.timezones import default_timezone

ROLES = ("employee", "hr_admin")
KINDS = ("employee", "contractor")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Department(db.Model):
    __tablename__ = "departments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    # Lower-cased name: departments are found by name in imports, whatever the case.
    name_key: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    parent_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )

    parent: so.Mapped[Department | None] = so.relationship(remote_side=[id])

    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    def __repr__(self) -> str:
        return f"<Department {self.name!r}>"


class Person(UserMixin, db.Model):
    __tablename__ = "people"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    department_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    manager_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="employee")
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="employee")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    hired_on: so.Mapped[date | None] = so.mapped_column()
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    # A new person is in the company's time zone (POLSO_DEFAULT_TIMEZONE) until they pick their own.
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default=default_timezone)
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(256))
    # Two-factor sign-in (TOTP): the shared secret, when it was confirmed, and the last time step
    # accepted, so that no code is accepted twice.
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    totp_enabled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    totp_last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    department: so.Mapped[Department | None] = so.relationship()
    manager: so.Mapped[Person | None] = so.relationship(remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint("role IN ('employee', 'hr_admin')", name="role_known"),
        sa.CheckConstraint("kind IN ('employee', 'contractor')", name="kind_known"),
        sa.CheckConstraint("manager_id IS NULL OR manager_id <> id", name="not_own_manager"),
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
    )

    def __repr__(self) -> str:
        return f"<Person {self.email!r}>"

    def set_password(self, password: str) -> None:
        # Tests lower the work factor through config; production keeps the default (scrypt).
        self.password_hash = generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated people cannot sign in.
        return self.active

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_hr(self) -> bool:
        return self.role == "hr_admin"

    @property
    def is_manager(self) -> bool:
        return db.session.scalar(
            sa.select(sa.literal(True)).where(Person.manager_id == self.id, Person.active).limit(1)
        ) is True


class LoginAttempt(db.Model):
    """A failed sign-in, kept so the rate limit holds across app servers."""

    __tablename__ = "login_attempts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())

    person: so.Mapped[Person] = so.relationship()


class SignInSession(db.Model):
    """One signed-in browser: the session cookie carries a random key whose SHA-256 is kept here.

    Deleting the row signs that browser out, wherever it is; the person sees and ends their own
    sessions on Settings, and a password change or reset ends them all.
    """

    __tablename__ = "sign_in_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    key_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    method: so.Mapped[str] = so.mapped_column(sa.String(20))  # password, oidc
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    remember: so.Mapped[bool] = so.mapped_column(default=False)
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    person: so.Mapped[Person] = so.relationship()

    @property
    def browser(self) -> str | None:
        """A short name such as "Firefox on Linux" read from the stored User-Agent, for Settings."""
        return browser_name(self.user_agent)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_name(user_agent: str | None) -> str | None:
    """The browser and system a User-Agent names, or its first 40 characters when it names neither."""
    if not user_agent:
        return None
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} ({system})"
    return browser or system or user_agent[:40]


LINK_PURPOSES = ("invitation", "reset")


class CredentialLink(db.Model):
    """A one-time link that sets a password: an invitation (7 days) or a reset (1 hour).

    Only the SHA-256 of the link's random key is kept; ``used_at`` makes it one use only.
    """

    __tablename__ = "credential_links"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(20))
    key_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    person: so.Mapped[Person] = so.relationship()

    __table_args__ = (sa.CheckConstraint("purpose IN ('invitation', 'reset')", name="purpose_known"),)


class ResetRequest(db.Model):
    """A "forgot password" request, kept an hour so that its limits hold across app servers.

    Recorded for every address typed, whether or not anyone has it, so the limit itself says nothing
    about who exists.
    """

    __tablename__ = "reset_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class RecoveryCode(db.Model):
    """A one-use code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
