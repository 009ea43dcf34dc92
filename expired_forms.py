"""An expired form (its CSRF token too old, or its session gone) comes back as it was sent, not as "Bad request".

The page the form was on is rendered again from what was typed: the view runs once more on the same request,
where its form fails validation only because of the token, so it shows the form filled in with a fresh token.
That run may change nothing: committing raises and the session is rolled back, whatever the view tries. A view
that answers an invalid form with a redirect (the action buttons) gets a page that sends the same values again
with a fresh token, once the person presses its button.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, has_request_context, make_response, render_template, request, session
from flask_wtf.csrf import CSRFError

import error_pages
from extensions import db

# Never written back into a page.
SECRET_FIELDS = ("password", "csrf_token")


class WriteRefused(Exception):
    """A view tried to commit while it showed an expired form again."""


@sa.event.listens_for(sa.orm.Session, "before_commit")
def _refuse_commit_while_replaying(_session) -> None:
    if has_request_context() and g.get("replaying_expired_form"):
        raise WriteRefused("An expired form is shown again; nothing may be saved.")


def handle_csrf_error(error: CSRFError):
    """The same page with what was typed and a message (``g.form_expired``, shown by base.html), status 400."""
    endpoint_view = current_app.view_functions.get(request.endpoint or "")
    if request.path.startswith("/api/") or endpoint_view is None or g.get("replaying_expired_form"):
        return error_pages.render(400)
    # Nothing about this request's token may count as checked, and the page gets a token of this session.
    g.pop("csrf_valid", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    g.form_expired = True
    flashes = list(session.get("_flashes", []))
    response = None
    g.replaying_expired_form = True
    try:
        response = _replay(endpoint_view)
    except WriteRefused:  # a view that acts without a valid form: the page below sends the form again instead
        pass
    except Exception as exc:  # the view's refusal (403, 404, ...), as its error handler words it
        g.replaying_expired_form = False
        db.session.rollback()
        response = current_app.make_response(current_app.handle_user_exception(exc))
    finally:
        g.replaying_expired_form = False
        db.session.rollback()
    if response is not None and (response.status_code < 300 or response.status_code in (400, 422)):
        g.form_expired = False
        response.status_code = 400
        return response
    if response is not None and response.status_code >= 400:
        g.form_expired = False
        return response  # the view's own refusal (not allowed, no such thing) is the accurate answer
    # The view ignored the form (a button that redirects): offer to send the same values again.
    session["_flashes"] = flashes
    if not flashes:
        session.pop("_flashes", None)
    g.form_expired = False
    fields = [(name, value) for name, value in request.form.items(multi=True)
              if not any(secret in name.lower() for secret in SECRET_FIELDS)]
    referrer = request.referrer or ""
    back = referrer if referrer.startswith(request.host_url) else None
    return make_response(render_template(
        "errors/form_expired.html", fields=fields, action=request.full_path.rstrip("?"), back=back,
        has_files=bool(request.files)), 400)


def _replay(view):
    """Run the request's view again, after the before-request checks that CSRF's refusal skipped."""
    funcs = list(current_app.before_request_funcs.get(None, ()))
    if request.blueprint:
        funcs += current_app.before_request_funcs.get(request.blueprint, ())
    for func in funcs:
        if func.__name__ == "csrf_protect":
            continue
        early = func()
        if early is not None:
            return current_app.make_response(early)
    return current_app.make_response(view(**(request.view_args or {})))
