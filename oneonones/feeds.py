"""Each person's private calendar feed: its secret URL, and the document it serves.

The secret in the URL is an HMAC of a random nonce under SECRET_KEY; only its SHA-256 is
stored. A feed exists only once its person asked for one: reading a URL never creates one,
and after a revocation nothing but an explicit create (the page's button, ``POST
/api/v1/me/calendar``) makes a new one.

The document's ETag is the SHA-256 of its bytes (the same state always gives the same bytes,
see ``oneonones.calendar``), and its Last-Modified is when those bytes were first served:
stored with the feed, so a renamed colleague or a new clock change within the horizon counts
as a change too, not only a change to a series.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from errors import NotFound
from extensions import db
from oneonones.access import end_broken_series
from oneonones.calendar import build_calendar
from oneonones.models import CalendarFeed, Series
from oneonones.occurrences import exceptions_of
from people.models import Person

FEED_PATH = "/calendar/"


def _token(person_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"polso.calendar-feed:{person_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _link(token: str) -> str:
    return f"{current_app.config['POLSO_BASE_URL'].rstrip('/')}{FEED_PATH}{token}.ics"


def _row(person: Person) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.person_id == person.id))


def feed_url(person: Person, now: datetime, *, create: bool = False) -> str | None:
    """The person's feed URL, or None when they have none (never made, or revoked).

    With ``create``, one is made if there is none; an existing one is kept.
    """
    feed = _row(person)
    if feed is None:
        return regenerate_feed(person, now) if create else None
    token = _token(person.id, feed.nonce)
    if feed.token_hash != _hash(token):
        # SECRET_KEY changed: the old URL stops working, as with every other signed link.
        feed.token_hash = _hash(token)
        db.session.commit()
    return _link(token)


def regenerate_feed(person: Person, now: datetime) -> str:
    """A new secret URL for the person's feed (made if there was none); a previous one stops working at once."""
    feed = _row(person)
    nonce = secrets.token_urlsafe(24)
    token = _token(person.id, nonce)
    if feed is None:
        feed = CalendarFeed(person_id=person.id, created_at=now)
        db.session.add(feed)
    feed.nonce, feed.token_hash, feed.created_at = nonce, _hash(token), now
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent request made one first
        db.session.rollback()
        return feed_url(person, now)
    return _link(token)


def revoke_feed(person: Person) -> None:
    """Switch the feed off: its URL answers 404 from now on, and no feed exists until one is created."""
    db.session.execute(sa.delete(CalendarFeed).where(CalendarFeed.person_id == person.id))
    db.session.commit()


def feed_for_token(token: str) -> CalendarFeed:
    """:raise NotFound: unknown or revoked token, or a deactivated person."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token)))
    person = db.session.get(Person, feed.person_id) if feed is not None else None
    if person is None or not person.active:
        raise NotFound(_("This calendar link is not valid."))
    return feed


@dataclass(frozen=True)
class FeedDocument:
    body: bytes
    etag: str  # without quotes
    modified_at: datetime  # whole seconds, as HTTP dates are


def document(feed: CalendarFeed, now: datetime) -> FeedDocument:
    """The feed's iCalendar document (no agenda, no notes) with its ETag and Last-Modified; commits."""
    person = db.session.get(Person, feed.person_id)
    end_broken_series(now, [person.id])
    series = db.session.scalars(sa.select(Series).where(
        sa.or_(Series.manager_id == person.id, Series.report_id == person.id)).order_by(Series.id)).all()
    body = build_calendar(person, series, exceptions_of(s.id for s in series), now)
    digest = hashlib.sha256(body).hexdigest()
    if feed.content_hash != digest or feed.content_changed_at is None:
        changed = now.astimezone(UTC).replace(microsecond=0)
        if feed.content_changed_at is not None and changed <= feed.content_changed_at:
            # HTTP dates have whole seconds: a second change within the second must still be later.
            changed = feed.content_changed_at + timedelta(seconds=1)
        feed.content_hash, feed.content_changed_at = digest, changed
        db.session.commit()
    return FeedDocument(body, digest[:32], feed.content_changed_at)
