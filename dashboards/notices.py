"""The e-mail a manager gets when a round closes: "your team's results are ready".

It carries no figure at all (no score, no count, not even whether the team's own result is shown
or rolled up): the numbers are on the results page, behind the guard, and an e-mail cannot be
taken back once the guard would have hidden something. Each manager of the round's stored team
tree gets one, once per round (``results-ready:<round>:<manager>``), queued in the transaction
that stores the results.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import sqlalchemy as sa

from dashboards.results import stored_trees
from extensions import db
from mail import services as mail
from people.models import Person
from surveys.models import Round


def queue_results_ready(round_id: int) -> int:
    """Queue the notice for each active manager of the closed round ``round_id``, due when the round
    closed (so the tick that closes it sends it); the caller commits.

    Returns how many were queued (none twice for one round and manager). The templates are rendered
    once per language (``mail.render_each``: only the name and the team's link differ) and the
    messages written in bulk (``mail.queue_many``).
    """
    round_ = db.session.get(Round, round_id)
    managers = list(stored_trees(round_id)["manager"])
    if round_ is None or not managers:
        return 0
    people = []
    for start in range(0, len(managers), 5000):  # below any database's limit of bound parameters
        people += db.session.execute(
            sa.select(Person.id, Person.email, Person.name, Person.locale)
            .where(Person.id.in_(managers[start:start + 5000]), Person.active)).all()
    people.sort(key=lambda person: person.id)
    already = mail.queued_keys([_key(round_id, person.id) for person in people])
    by_locale: dict[str | None, list] = defaultdict(list)
    for person in people:
        if _key(round_id, person.id) not in already:
            by_locale[person.locale].append(person)
    survey = round_.survey

    def context(values):
        return {"person": SimpleNamespace(id=values["id"], name=values["name"]), "survey": survey,
                "round_id": round_id}

    queued = 0
    for locale, members in by_locale.items():
        rendered = mail.render_each("results_ready", locale, context,
                                    [{"id": str(person.id), "name": person.name} for person in members])
        queued += mail.queue_many(
            ({"to": person.email, "subject": subject, "body_text": text, "body_html": html,
              "kind": "results_ready", "dedupe_key": _key(round_id, person.id)}
             for person, (subject, text, html) in zip(members, rendered, strict=True)), now=round_.closes_at)
    return queued


def _key(round_id: int, manager_id: int) -> str:
    return f"results-ready:{round_id}:{manager_id}"
