"""The e-mail a manager gets when a round closes: "your team's results are ready".

It carries no figure at all (no score, no count, not even whether the team's own result is shown
or rolled up): the numbers are on the results page, behind the guard, and an e-mail cannot be
taken back once the guard would have hidden something. Each manager of the round's stored team
tree gets one, once per round (``results-ready:<round>:<manager>``), queued in the transaction
that stores the results.
"""

from __future__ import annotations

import sqlalchemy as sa

from dashboards.results import stored_trees
from extensions import db
from mail import services as mail
from people.models import Person
from surveys.models import Round


def queue_results_ready(round_id: int) -> int:
    """Queue the notice for each active manager of the closed round ``round_id``, due when the round
    closed (so the tick that closes it sends it); the caller commits.

    Returns how many were queued (none twice for one round and manager).
    """
    round_ = db.session.get(Round, round_id)
    managers = list(stored_trees(round_id)["manager"])
    if round_ is None or not managers:
        return 0
    queued = 0
    for person in db.session.scalars(sa.select(Person).where(Person.id.in_(managers), Person.active)
                                     .order_by(Person.id)):
        key = f"results-ready:{round_id}:{person.id}"
        if mail.is_queued(key):
            continue
        subject, text, html = mail.render("results_ready", person.locale, person=person, survey=round_.survey,
                                          round_id=round_id)
        mail.queue(person.email, subject, text, body_html=html, kind="results_ready", dedupe_key=key,
                   now=round_.closes_at)
        queued += 1
    return queued
