"""Who may do what: signed-in sessions (revocable, one row each), Flask-Login wiring, role decorators,
and keeping private responses out of caches.

Signing in creates a ``SignInSession`` row and puts its random key in the (signed) session cookie;
every request finds the person through that row, so deleting it signs that browser out at once,
on every app server. "Keep me signed in" makes the cookie outlive the browser
(``SESSION_REMEMBER_DAYS``); otherwise a session ends when the browser closes or after
``SESSION_IDLE_HOURS`` without a request. Flask-Login's own remember-me cookie is not used: it
would outlive a revoked session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Flask, Response, abort, current_app, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

import audit
import errors
from extensions import db, login_manager
from people.models import ApiToken, CredentialLink, Person, SignInSession

login_manager.login_view = "people.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


SESSION_KEY = "sid"
PENDING_KEY = "pending_sign_in"  # password (or SSO) checked, second factor still to come
PENDING_MINUTES = 5
# How often a session's last request is written down (and its idle expiry moved on).
TOUCH_EVERY = timedelta(minutes=5)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _lifetime(remember: bool) -> timedelta:
    cfg = current_app.config
    return timedelta(days=cfg["SESSION_REMEMBER_DAYS"]) if remember else timedelta(hours=cfg["SESSION_IDLE_HOURS"])


def _fresh_cookie() -> None:
    """Empty the session cookie, keeping only the language picked: nothing planted before a sign-in
    (a fixed CSRF token, say) outlives it."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def start_session(person: Person, *, method: str, remember: bool, now: datetime) -> None:
    """Sign ``person`` in on this browser: a new ``SignInSession``, its key in a fresh cookie, and the
    sign-in in the audit log. Commits."""
    raw = secrets.token_urlsafe(32)
    earlier = current_session()  # this browser's earlier sign-in (someone else's, say) ends here
    if earlier is not None:
        db.session.delete(earlier)
    db.session.add(SignInSession(
        person_id=person.id, key_hash=_digest(raw), method=method, created_at=now, last_seen_at=now,
        expires_at=now + _lifetime(remember), remember=remember,
        user_agent=(request.user_agent.string or "")[:200] or None,
        remote_addr=(request.remote_addr or "")[:64] or None))
    audit.record(f"signin.{method}", actor=person, target=person, summary=person.email, now=now,
                 remote_addr=request.remote_addr)
    accept_pending_invitations(person, now)
    db.session.commit()
    _fresh_cookie()
    session[SESSION_KEY] = raw
    session.permanent = remember
    login_user(person)


def accept_pending_invitations(person: Person, now: datetime) -> None:
    """Whoever signs in (by single sign-on, say) has accepted any invitation still open; the caller commits."""
    db.session.execute(sa.update(CredentialLink).where(
        CredentialLink.person_id == person.id, CredentialLink.purpose == "invitation",
        CredentialLink.used_at.is_(None)).values(used_at=now).execution_options(synchronize_session=False))


def begin_sign_in(person: Person, *, method: str, remember: bool, next_url: str | None, now: datetime) -> str:
    """A person proved who they are (password, SSO); return where the browser goes next.

    With two-factor sign-in set up, the second factor comes first: the cookie holds only a
    pending sign-in (for ``PENDING_MINUTES``) and the browser goes to the code page. Otherwise
    the session starts here.
    """
    if person.has_two_factor:
        _fresh_cookie()
        session[PENDING_KEY] = {"person": person.id, "method": method, "remember": bool(remember),
                                "next": next_url, "at": now.timestamp()}
        return url_for("twofactor.verify")
    start_session(person, method=method, remember=remember, now=now)
    return next_url or url_for("home.index")


def pending_sign_in(now: datetime) -> tuple[Person, dict] | None:
    """The person waiting to give their second factor on this browser, with what they asked for."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or now.timestamp() - pending.get("at", 0) > PENDING_MINUTES * 60:
        return None
    person = db.session.get(Person, pending.get("person"))
    if person is None or not person.active or not person.has_two_factor:
        return None
    return person, pending


def current_session() -> SignInSession | None:
    raw = session.get(SESSION_KEY)
    if not raw:
        return None
    return db.session.scalar(sa.select(SignInSession).where(SignInSession.key_hash == _digest(raw)))


def end_current_session() -> None:
    """Sign this browser out: its row goes, and so does the cookie but for the language picked. Commits."""
    row = current_session()
    if row is not None:
        db.session.delete(row)
        db.session.commit()
    logout_user()
    _fresh_cookie()


def active_sessions(person: Person, now: datetime) -> list[SignInSession]:
    return list(db.session.scalars(sa.select(SignInSession).where(
        SignInSession.person_id == person.id, SignInSession.expires_at > now).order_by(
        SignInSession.last_seen_at.desc(), SignInSession.id.desc())))


def revoke_session(person: Person, session_id: int, now: datetime) -> bool:
    """End one of ``person``'s sessions (only their own). Commits; False if there was none."""
    result = db.session.execute(sa.delete(SignInSession).where(
        SignInSession.id == session_id, SignInSession.person_id == person.id).execution_options(
        synchronize_session=False))
    if result.rowcount:
        audit.record("session.revoked", actor=person, target=person, summary=person.email, now=now)
    db.session.commit()
    return result.rowcount > 0


def end_other_sessions(person: Person, *, keep: SignInSession | None = None) -> None:
    """End every browser session of ``person`` but ``keep``; the caller commits. Turning two-factor on
    does this: a browser signed in with the password alone should not stay in."""
    sessions = sa.delete(SignInSession).where(SignInSession.person_id == person.id)
    if keep is not None:
        sessions = sessions.where(SignInSession.id != keep.id)
    db.session.execute(sessions.execution_options(synchronize_session=False))


def sign_out_everywhere(person: Person, *, keep: SignInSession | None = None) -> None:
    """End every session of ``person`` (but ``keep``) and revoke every API token; the caller commits.

    Called on any password change or reset, so that whoever knew the old password is out; any reset
    link still open goes too.
    """
    end_other_sessions(person, keep=keep)
    db.session.execute(sa.delete(ApiToken).where(ApiToken.person_id == person.id)
                       .execution_options(synchronize_session=False))
    # A reset link still open would undo the new password: it goes too.
    db.session.execute(sa.delete(CredentialLink).where(
        CredentialLink.person_id == person.id, CredentialLink.purpose == "reset", CredentialLink.used_at.is_(None))
        .execution_options(synchronize_session="fetch"))


def purge_sessions(now: datetime) -> int:
    """Delete expired sessions; commit and return how many. Run by ``tick``."""
    result = db.session.execute(sa.delete(SignInSession).where(SignInSession.expires_at <= now)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


# Pages that are nobody's, whoever is signed in on the browser.
ANONYMOUS_PATHS = ("/r/",)


@login_manager.user_loader
def load_user(user_id: str) -> Person | None:
    """The person of this request's session row; None once it is revoked, expired or someone else's.

    Nobody on a comment's reply pages (``/r/``), error pages included: they must neither read nor stamp
    the session of whoever else is signed in on that browser (``replies.views``).
    """
    if request.path.startswith(ANONYMOUS_PATHS):
        return None
    row = current_session()
    now = datetime.now(UTC)
    if row is None or str(row.person_id) != user_id or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY and not (db.session.new or db.session.dirty or db.session.deleted):
        row.last_seen_at = now
        row.expires_at = now + _lifetime(row.remember)
        errors.commit_bookkeeping()
    return row.person


def role_required(*roles: str):
    """Allow only signed-in people whose role is one of ``roles``.

    :raise 403: for a signed-in person with another role.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


hr_required = role_required("hr_admin")


def manager_required(view):
    """Allow only people who have at least one active report (HR too)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not (current_user.is_manager or current_user.is_hr):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _is_private() -> bool:
    # The API answers only with private data or about credentials; /s/ pages are opened by a personal link.
    return request.path.startswith(("/api/", "/s/", "/password/")) or current_user.is_authenticated


def no_store_private_responses(app: Flask) -> None:
    """Send ``Cache-Control: no-store`` on everything private, so no browser or proxy cache keeps a copy.

    Private: every API response, every page under ``/s/`` and every response to a
    signed-in person (pages, exports, redirects). Static files, and responses a view
    marked ``public`` itself, keep their own caching.
    """

    @app.after_request
    def no_store(response: Response) -> Response:
        if request.endpoint == "static" or response.cache_control.public:
            return response
        if _is_private():
            # Replaces weaker settings such as "private, no-cache", which still let the browser keep a copy.
            response.headers["Cache-Control"] = "no-store"
        return response
