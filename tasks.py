"""The periodic work behind ``flask pulses tick``: every feature's due work, the outbox, housekeeping.

Each step is idempotent and claims its work with conditional writes, so cron
may run this on several hosts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from actions import reminders as actions
from dashboards import notices
from dashboards.results import published_rows, store_round_results
from extensions import db
from mail import services as mail
from oneonones import reminders as oneonones
from people import auth, credentials, signin
from replies import services as replies
from rewards import reminders as rewards
from surveys import periodic


@dataclass
class TickSummary:
    pulses: periodic.TickReport
    oneonones: dict[str, int]
    rewards: dict[str, int]
    actions: dict[str, int]
    mail: Any
    housekeeping: dict[str, int]


def tick(now: datetime) -> TickSummary:
    """Run all periodic work due at ``now``; e-mail queued by any step goes out, then ``housekeeping``."""
    pulses = periodic.tick(now, on_close=store_results, send_mail=False)
    return TickSummary(pulses=pulses, oneonones=oneonones.tick(now), rewards=rewards.tick(now),
                       actions=actions.tick(now), mail=mail.send_all_pending(now), housekeeping=housekeeping(now))


def store_results(round_id: int, *, recount: bool) -> None:
    """Store a closed round's results: the surveys' ``on_close``, passed in here so that surveys never
    import dashboards. On a recount (late ballots reached a round whose results may have been seen) a
    group stays shown only with the figures it was shown with. A first close also queues each
    manager's "your team's results are ready" (no figures in it). The caller commits."""
    store_round_results(round_id, published=(published_rows(round_id) or None) if recount else None)
    if not recount:
        notices.queue_results_ready(round_id)


def housekeeping(now: datetime) -> dict[str, int]:
    """Keep tables from growing forever; returns how many rows of each kind were deleted.

    Deletes outbox messages sent more than ``MAIL_SENT_RETENTION_DAYS`` ago
    (never unsent ones), failed sign-ins older than the rate-limit window and expired sessions.
    """
    retention = timedelta(days=current_app.config["MAIL_SENT_RETENTION_DAYS"])
    # On its own: a transaction that writes nothing about people (``replies.services``).
    replies.forget_message_order(now.date())
    db.session.commit()
    return {"sent_mail_purged": mail.purge_sent(now, retention),
            "login_attempts_purged": signin.purge_login_attempts(now),
            "sessions_purged": auth.purge_sessions(now),
            "reset_requests_purged": credentials.purge_reset_requests(now)}
