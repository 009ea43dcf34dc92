"""Demo action plans: a few actions on the demo survey's drivers, planned some rounds ago, with updates.

HR plans two company actions and one for the demo manager's department; the demo manager plans one for
their own team. Each is backdated to a baseline round about six weeks before the latest, so the demo
shows the driver's figures since then and whether it moved beyond noise; each has an update or two.
They are made through the services, so the rules (who may plan what, the audit log) hold as for anyone.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from actions import services
from dashboards import services as dashboards
from extensions import db
from people.models import Person

PLANS = (
    ("company", "Recognition in the monthly all-hands",
     "Each all-hands names three colleagues whose work helped others, chosen by their peers.", "in_progress"),
    ("company", "Clear growth paths",
     "Publish the skills and steps of each role's next level by the end of the quarter.", "planned"),
    ("department", "Fewer meetings on Wednesdays", "No internal meetings on Wednesday mornings, for focused work.",
     "done"),
    ("team", "Weekly workload check-in", "Ten minutes in each team meeting to rebalance the week's work.",
     "in_progress"),
)
UPDATES = ("Started: agreed with the leads.", "Halfway: the first two weeks went well.",
           "Feedback from the team is positive.", "Adjusted after the first round of comments.")


def seed(rng: random.Random, today: date) -> dict[str, int]:
    """Plan the demo actions; returns how many actions and updates were made."""
    hr = db.session.scalar(sa.select(Person).where(Person.email == "hr@polso.example"))
    manager = db.session.scalar(sa.select(Person).where(Person.email == "manager@polso.example"))
    survey = dashboards.enps_survey()
    if hr is None or manager is None or survey is None:
        return {"actions": 0, "action updates": 0}
    closed = dashboards.closed_rounds(survey)
    if not closed:
        return {"actions": 0, "action updates": 0}
    baseline = closed[max(0, len(closed) - 7)]
    drivers = [q for q in survey.questions if q.kind == "likert"] or [None]
    made = updates = 0
    for index, (group, title, description, status) in enumerate(PLANS):
        question = drivers[index % len(drivers)]
        data = {"title": title, "description": description, "survey_id": survey.id,
                "question_id": question.id if question else None, "status": "planned",
                "owner_email": hr.email if group != "team" else manager.email,
                "due_on": (today + timedelta(days=rng.randint(14, 60))).isoformat()}
        planner = hr
        if group == "department" and manager.department_id:
            data["department_id"] = manager.department_id
        elif group == "team":
            data["manager_id"] = manager.id
            planner = manager
        planned_at = baseline.closes_at + timedelta(hours=1)
        action = services.create_action(planner, data, planned_at)
        action.baseline_round_id = baseline.id
        db.session.commit()
        made += 1
        steps = {"planned": 0, "in_progress": 1, "done": 2}[status]
        for step in range(steps):
            to = "in_progress" if step == 0 else "done"
            services.update_action(action, planner, {"status": to, "note": UPDATES[(index + step) % len(UPDATES)]},
                                   planned_at + timedelta(days=7 * (step + 1)))
            updates += 1
    return {"actions": made, "action updates": updates}

