"""Reply pages: the respondent's, opened by a secret link without signing in, and HR's.

The respondent's pages treat every visitor as signed out, even when the browser also holds
someone's session (``people.auth.load_user`` returns nobody under ``/r/``, error pages included):
nothing about a signed-in person is read, touched or shown, so no session row is stamped with the
moment a conversation was read or answered. They post to ``/r/reply``, a URL
without the secret (it travels in the form body), and are never cached.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from errors import Conflict, Forbidden, NotFound, ValidationError
from extensions import db
from people.auth import hr_required
from people.forms import EmptyForm
from replies import services
from replies.forms import MessageForm
from surveys.reply_links import padded

public = Blueprint("reply_link", __name__)
bp = Blueprint("replies", __name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _respondent_page(secret: str, thread: services.Thread | None, form: MessageForm, status: int = 200):
    response = make_response(render_template("replies/respondent.html", thread=thread, form=form, secret=secret),
                             status)
    response.headers["Cache-Control"] = "no-store"
    # The same size for every conversation, so that a logged or observed size does not say which.
    return padded(response)


@public.route("/r/<secret>")
def respondent(secret: str):
    """The conversation a secret opens; one page for every secret that opens none yet."""
    return _respondent_page(secret, services.for_secret(secret), MessageForm())


@public.route("/r/reply", methods=["POST"])
def respondent_reply():
    """The respondent's answer: the secret is in the form body, never in this URL."""
    secret = request.form.get("secret", "")
    form = MessageForm()
    thread = services.for_secret(secret)
    if thread is None:
        return _respondent_page("", None, form, 404)
    if not form.validate_on_submit():
        return _respondent_page(secret, thread, form, 422 if form.errors.keys() - {"csrf_token"} else 400)
    try:
        services.respond(secret, form.body.data, _now().date())
    except ValidationError as error:
        form.body.errors = [error.fields.get("body", str(error))]
        return _respondent_page(secret, thread, form, 422)
    except Conflict as error:
        flash(str(error), "warning")
        return _respondent_page(secret, services.for_secret(secret), MessageForm(formdata=None), 409)
    db.session.commit()
    flash(_("Your answer is sent. HR sees it without knowing who wrote it."), "success")
    return _respondent_page(secret, services.for_secret(secret), MessageForm(formdata=None))


# --- HR ------------------------------------------------------------------------------------------


def _thread(thread_id: uuid.UUID) -> services.Thread:
    try:
        return services.staff_thread(current_user, thread_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


@bp.route("/comments")
@login_required
@hr_required
def inbox():
    threads = services.visible_threads(current_user)
    return render_template("replies/inbox.html", threads=threads,
                           waiting=[t for t in threads if t.awaiting_hr])


@bp.route("/comments/<uuid:thread_id>")
@login_required
@hr_required
def thread(thread_id: uuid.UUID):
    return render_template("replies/thread.html", thread=_thread(thread_id), form=MessageForm(),
                           close_form=EmptyForm())


@bp.route("/comments/<uuid:thread_id>/reply", methods=["POST"])
@login_required
@hr_required
def reply(thread_id: uuid.UUID):
    found = _thread(thread_id)
    form = MessageForm()
    if not form.validate_on_submit():
        return render_template("replies/thread.html", thread=found, form=form, close_form=EmptyForm()), \
            (422 if form.errors.keys() - {"csrf_token"} else 400)
    try:
        services.reply(current_user, thread_id, form.body.data, _now())
    except ValidationError as error:
        form.body.errors = [error.fields.get("body", str(error))]
        return render_template("replies/thread.html", thread=found, form=form, close_form=EmptyForm()), 422
    except Conflict as error:
        flash(str(error), "warning")
        return redirect(url_for("replies.thread", thread_id=thread_id))
    db.session.commit()
    flash(_("Reply sent. The respondent reads it through their link."), "success")
    return redirect(url_for("replies.thread", thread_id=thread_id))


@bp.route("/comments/<uuid:thread_id>/close", methods=["POST"])
@login_required
@hr_required
def close(thread_id: uuid.UUID):
    _thread(thread_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.close(current_user, thread_id, _now())
    db.session.commit()
    flash(_("Conversation closed: nobody can write in it any more."), "success")
    return redirect(url_for("replies.thread", thread_id=thread_id))
