"""``demo seed`` plans a few actions with updates, so the demo shows "you said, we did" and whether it worked."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from actions.models import Action, ActionUpdate
from demo import DEMO_PASSWORD


def test_the_demo_has_actions_with_updates_and_figures_since_their_baseline(app, runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "120", "--weeks", "10", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "4 actions" in result.output
    actions = db.session.scalars(sa.select(Action).order_by(Action.id)).all()
    assert len(actions) == 4
    assert {a.status for a in actions} == {"planned", "in_progress", "done"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionUpdate)) >= 3
    assert all(a.baseline_round_id for a in actions)

    g.pop("_login_user", None)
    hr = app.test_client()
    hr.post("/login", data={"email": "hr@polso.example", "password": DEMO_PASSWORD})
    g.pop("_login_user", None)
    page = hr.get(f"/actions/{actions[0].id}").get_data(as_text=True)
    assert "beyond noise" in page or "Within noise" in page

    g.pop("_login_user", None)
    employee = app.test_client()
    employee.post("/login", data={"email": "employee@polso.example", "password": DEMO_PASSWORD})
    g.pop("_login_user", None)
    listing = employee.get("/actions").get_data(as_text=True)
    assert "Weekly workload check-in" in listing  # their own team's action
