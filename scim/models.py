"""SCIM's own tables: the bearer tokens an identity provider presents, and, per provisioned person,
what a SCIM client sent that Polso's people table has no column for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from dbtypes import UTCDateTime
from extensions import db


class ScimToken(db.Model):
    """A bearer token for ``/scim/v2``; only its SHA-256 is stored. Revoked tokens are kept, marked."""

    __tablename__ = "scim_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<ScimToken {self.id}>"


class ScimUser(db.Model):
    """A person as a SCIM client knows them: its ``externalId``, the name parts it sent (kept with the
    full name they made, so a rename in Polso drops them), when SCIM last changed them, and whether it
    deleted them (a deleted person is deactivated, and SCIM answers 404 for them from then on)."""

    __tablename__ = "scim_users"

    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"),
                                                 primary_key=True)
    external_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    given_name: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    family_name: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    name_parts_of: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<ScimUser {self.person_id}>"
