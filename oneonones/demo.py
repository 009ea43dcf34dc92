"""Demo one-on-ones: series for most managers with their direct reports, and some agenda history.

Written in a few bulk inserts. Overlaps are impossible by construction: a
manager gives each report its own weekday and hour, in the morning at even
depths of the tree and in the afternoon at odd ones, so a team lead's own
one-on-one with their manager never falls on a slot of their team's.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from extensions import db
from oneonones import schedule
from oneonones.models import ActionItem, AgendaItem, OccurrenceException, PrivateNote, Series
from people import org
from people.models import Person

SLOTS_PER_DAY = 4  # 09-13 or 14-18, an hour each
MORNING, AFTERNOON = 9, 14
HISTORY = 4  # past meetings with an agenda, per series
HISTORY_SPAN = {"weekly": timedelta(weeks=5), "biweekly": timedelta(weeks=9), "monthly": timedelta(weeks=19)}
AGENDA = ("Priorities for the next two weeks", "Feedback on the last release", "Training budget",
          "Workload and focus time", "Career goals for this year", "Holiday planning", "Onboarding the new hire",
          "How the team retro went", "Conference talk proposal", "Tooling pain points",
          "Obiettivi del trimestre", "Formazione sul nuovo sistema", "Carico di lavoro", "Piano ferie")
ACTIONS = ("Share the roadmap draft", "Book the training course", "Write up the incident review",
           "Ask the team about on-call times", "Prepare the promotion case", "Inviare il piano al team")
NOTES = ("Seemed tired; check in about workload next time.", "Great progress on the migration.",
         "Mention the mentoring programme.", "Ricordarsi di chiedere del progetto nuovo.")


def seed(rng: random.Random, today: date) -> dict[str, int]:
    """Write demo rows in bulk (the people and the pulse exist already); return counts for the summary line."""
    now = datetime.combine(today, time(0), tzinfo=UTC)
    people = db.session.execute(sa.select(Person.id, Person.email, Person.manager_id, Person.timezone)
                                .where(Person.active).order_by(Person.id)).all()
    by_id = {p.id: p for p in people}
    reports: dict[int, list[int]] = {}
    for p in people:
        if p.manager_id is not None:
            reports.setdefault(p.manager_id, []).append(p.id)
    demo_pair = {p.id for p in people if p.email in ("manager@polso.example", "employee@polso.example")}

    line = {p.id: p.manager_id for p in people}

    def depth(person_id: int) -> int:
        return len(org.ancestors(line, person_id)) - 1  # levels of active managers above

    series_rows = []
    for manager_id in sorted(reports):
        if rng.random() > 0.85 and manager_id not in demo_pair:
            continue
        first_hour = MORNING if depth(manager_id) % 2 == 0 else AFTERNOON
        slots = [(weekday, first_hour + h) for weekday in range(5) for h in range(SLOTS_PER_DAY)]
        rng.shuffle(slots)
        tz = by_id[manager_id].timezone or "Europe/Rome"
        for report_id, (weekday, hour) in zip(reports[manager_id], slots, strict=False):
            if rng.random() < 0.1 and report_id not in demo_pair:
                continue  # somebody the manager has not met for a while
            cadence = rng.choices(("weekly", "biweekly", "monthly"), (0.3, 0.55, 0.15))[0]
            first = today - timedelta(weeks=rng.randint(6, 20))
            first += timedelta(days=(weekday - first.weekday()) % 7)
            starts_at = schedule.local_datetime(first, time(hour), tz)
            series_rows.append({"manager_id": manager_id, "report_id": report_id, "cadence": cadence,
                                "rrule": schedule.build_rrule(cadence, datetime.combine(first, time(hour))),
                                "starts_at": starts_at, "timezone": tz, "duration_minutes": 60,
                                "status": "active", "created_at": starts_at - timedelta(days=7)})
    if not series_rows:
        return {}
    db.session.execute(Series.__table__.insert(), series_rows)
    written = db.session.execute(sa.select(Series.id, Series.manager_id, Series.report_id, Series.cadence,
                                           Series.rrule, Series.starts_at, Series.timezone)
                                 .order_by(Series.id)).all()

    agenda, actions, notes, cancelled = [], [], [], []
    for row in written:
        pair = (row.manager_id, row.report_id)
        back = now - HISTORY_SPAN[row.cadence]
        past = schedule.expand(row.rrule, row.starts_at, row.timezone, 60, back, now)[-HISTORY:]
        coming = schedule.expand(row.rrule, row.starts_at, row.timezone, 60, now, now + timedelta(days=35))
        for index, (begins, _ends) in enumerate(past):
            later = [b for b, _e in past[index + 1:]]
            for _n in range(rng.randint(1, 2)):
                roll = rng.random()
                done = begins if roll < 0.7 else (later[0] if later and roll < 0.85 else None)
                agenda.append({"series_id": row.id, "occurrence_start": begins, "text": rng.choice(AGENDA),
                               "author_id": rng.choice(pair), "created_at": begins - timedelta(days=1),
                               "done_occurrence": done, "done_by_id": rng.choice(pair) if done else None,
                               "done_at": done + timedelta(minutes=30) if done else None})
            if rng.random() < 0.3:
                due = (begins + timedelta(days=7)).date()
                actions.append({"series_id": row.id, "occurrence_start": begins, "text": rng.choice(ACTIONS),
                                "owner_id": rng.choice(pair), "due_on": due, "created_by_id": row.manager_id,
                                "created_at": begins + timedelta(minutes=45),
                                "done_at": begins + timedelta(days=5) if due < today and rng.random() < 0.7
                                else None})
        if past and (rng.random() < 0.1 or {row.manager_id, row.report_id} <= demo_pair):
            notes.append({"series_id": row.id, "occurrence_start": past[-1][0], "author_id": row.manager_id,
                          "body": rng.choice(NOTES), "updated_at": past[-1][1]})
        if coming and rng.random() < 0.3:
            agenda.append({"series_id": row.id, "occurrence_start": coming[0][0], "text": rng.choice(AGENDA),
                           "author_id": row.report_id, "created_at": now, "done_occurrence": None,
                           "done_by_id": None, "done_at": None})
        if len(coming) > 2 and rng.random() < 0.05:
            cancelled.append({"series_id": row.id, "original_start": coming[2][0], "status": "cancelled",
                              "changed_at": now})
        elif {row.manager_id, row.report_id} <= demo_pair:
            # The demo pair always has a cancelled meeting after the next one, to show what one looks like.
            later = schedule.expand(row.rrule, row.starts_at, row.timezone, 60, now, now + timedelta(days=70))
            cancelled.append({"series_id": row.id, "original_start": later[1][0], "status": "cancelled",
                              "changed_at": now})
    for model, rows in ((AgendaItem, agenda), (ActionItem, actions), (PrivateNote, notes),
                        (OccurrenceException, cancelled)):
        if rows:
            db.session.execute(model.__table__.insert(), rows)
    return {"one-on-one series": len(written), "agenda items": len(agenda), "action items": len(actions),
            "private notes": len(notes), "cancelled meetings": len(cancelled)}
