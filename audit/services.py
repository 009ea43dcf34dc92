"""Recording what someone did: one call, in the caller's transaction; and the actions it knows.

:func:`record` only adds a row to the session, as ``mail.services.queue`` does: the caller's
commit makes the record real together with the change it describes, and a rollback drops both,
so the log never says something happened that did not, nor misses something that did.

A summary is the facts of the event (ids, names, titles, states, amounts), stored as given and
shown as stored; the action's label carries the words, in the reader's language. It never holds
survey answers, comments or private notes: callers pass none, and the log is read by HR.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l

from audit.models import MAX_ADDRESS, MAX_SUMMARY, MAX_TARGET_TYPE, AuditEvent
from extensions import db

if TYPE_CHECKING:  # the audit log sits below people, who write to it: a person is only a type here
    from people.models import Person

#: Every action the log records, with its label for the page and the CSV. A new call site adds its code here.
ACTIONS = {
    "signin.password": _l("Signed in with a password"),
    "signin.oidc": _l("Signed in through single sign-on"),
    "signin.api_token": _l("Made an API token with a password"),
    "person.created": _l("Added a person"),
    "person.updated": _l("Changed a person"),
    "person.deactivated": _l("Deactivated a person"),
    "person.activated": _l("Reactivated a person"),
    "person.invited": _l("Sent a sign-in invitation"),
    "person.created_by_sso": _l("Added a person at their first single sign-on"),
    "password.set": _l("Set a password from an invitation"),
    "password.reset_requested": _l("Asked for a password reset link"),
    "password.reset": _l("Reset a password from a link"),
    "password.changed": _l("Changed their password"),
    "session.revoked": _l("Signed out a session"),
    "token.created": _l("Made an API token on the Settings page"),
    "token.revoked": _l("Revoked an API token"),
    "twofactor.enabled": _l("Turned on two-factor sign-in"),
    "twofactor.disabled": _l("Turned off two-factor sign-in"),
    "twofactor.recovery_used": _l("Signed in with a recovery code"),
    "twofactor.recovery_renewed": _l("Made new recovery codes"),
    "twofactor.failed": _l("Gave a wrong two-factor code"),
    "people.imported": _l("Imported people from a file"),
    "survey.created": _l("Created a survey"),
    "survey.updated": _l("Changed a survey's settings"),
    "round.opened": _l("Opened a round"),
    "results.shared": _l("Shared a round's results with everyone"),
    "results.unshared": _l("Stopped sharing a round's results"),
    "export.downloaded": _l("Downloaded an export"),
    "plan.created": _l("Created a milestone plan"),
    "plan.edited": _l("Edited a milestone plan's terms"),
    "milestone.agreed": _l("Agreed to a milestone's terms"),
    "milestone.submitted": _l("Submitted a milestone's evidence"),
    "milestone.approved": _l("Approved a milestone"),
    "milestone.changes_requested": _l("Requested changes to a milestone"),
    "milestone.paid": _l("Recorded a milestone's payout"),
    "milestone.cancelled": _l("Cancelled a milestone"),
    "scim.user.created": _l("Added a person through SCIM provisioning"),
    "scim.user.updated": _l("Changed a person through SCIM provisioning"),
    "scim.user.deactivated": _l("Deactivated a person through SCIM provisioning"),
    "scim.user.reactivated": _l("Reactivated a person through SCIM provisioning"),
    "scim.user.deleted": _l("Deleted a person through SCIM provisioning (deactivated)"),
    "scim.token.created": _l("Made a SCIM provisioning token"),
    "scim.token.revoked": _l("Revoked a SCIM provisioning token"),
    "action.created": _l("Planned an action"),
    "action.updated": _l("Changed an action"),
    "comment.replied": _l("Replied to a comment"),
    "comment.thread_closed": _l("Closed a conversation about a comment"),
}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def action_label(action: str) -> str:
    """The action's label in the request's language; an unknown code (an older release's) as itself."""
    return str(ACTIONS.get(action, action))


def target_type(target: object) -> str:
    """The name a target is logged under: ``MilestonePlan`` → ``milestone_plan``."""
    return _CAMEL.sub("_", type(target).__name__).lower()[:MAX_TARGET_TYPE]


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[:MAX_SUMMARY - 1] + "…"


def _request_address() -> str | None:
    if not has_request_context() or not request.remote_addr:
        return None
    return request.remote_addr[:MAX_ADDRESS]


def record(action: str, *, actor: Person | None, target: object | tuple[str, int | None] | None = None,
           summary: str, now: datetime, remote_addr: str | None = None) -> AuditEvent:
    """Add one event to the current transaction; the caller commits (or rolls back, and it is gone).

    ``actor``: who did it, None for Polso itself (``pulses tick``); their e-mail is kept in the row.
    ``target``: a model instance (logged as its type and id, flushed first if it has no id yet), a
    ``(type, id)`` pair, or None. ``summary``: the facts, on one line (longer ones are cut at
    ``MAX_SUMMARY``), never survey answers or private notes. ``remote_addr``: by default the
    request's client address, None outside a request.
    :raise ValueError: an action not in :data:`ACTIONS` (a typo would hide events from the filter).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to audit.services.ACTIONS")
    kind: str | None = None
    target_id: int | None = None
    if isinstance(target, tuple):
        kind, target_id = target
    elif target is not None:
        if getattr(target, "id", None) is None:
            db.session.flush()
        kind, target_id = target_type(target), target.id
    event = AuditEvent(at=now, actor_id=actor.id if actor is not None else None,
                       actor_email=actor.email.lower() if actor is not None else None, action=action,
                       target_type=kind, target_id=target_id, summary=_one_line(summary),
                       remote_addr=remote_addr[:MAX_ADDRESS] if remote_addr else _request_address())
    db.session.add(event)
    return event
