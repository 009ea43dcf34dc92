"""Who may do what: Flask-Login wiring, role decorators, and keeping private responses out of caches."""

from __future__ import annotations

from functools import wraps

from flask import Flask, Response, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db, login_manager
from people.models import Person

login_manager.login_view = "people.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> Person | None:
    try:
        return db.session.get(Person, int(user_id))
    except ValueError:
        return None


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
    return request.path.startswith(("/api/", "/s/")) or current_user.is_authenticated


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
