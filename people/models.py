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
