"""Who may do what: Flask-Login wiring and role decorators."""

from __future__ import annotations

from functools import wraps

from flask import abort
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
