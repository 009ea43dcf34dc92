"""Shared fixtures and helpers for the milestone reward tests (imported by the test_rewards_* modules)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from people.models import Department, Person
from rewards import plans, transitions
from rewards.models import Milestone, MilestoneEvent, Payout

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EVIDENCE = {"note": "Beta live for 60 users; see the report.", "evidence_url": "https://intranet.example/beta"}
# The steps that bring a fresh milestone to each state: (actor, action, data).
PATHS = {
    "draft": [],
    "draft_recipient_agreed": [("recipient", "agree", {})],
    "agreed": [("recipient", "agree", {}), ("approver", "agree", {})],
    "submitted": [("recipient", "agree", {}), ("approver", "agree", {}), ("recipient", "submit", EVIDENCE)],
    "changes_requested": [("recipient", "agree", {}), ("approver", "agree", {}), ("recipient", "submit", EVIDENCE),
                          ("approver", "request-changes", {"note": "Add last week's numbers."})],
    "approved": [("recipient", "agree", {}), ("approver", "agree", {}), ("recipient", "submit", EVIDENCE),
                 ("approver", "approve", {})],
    "paid": [("recipient", "agree", {}), ("approver", "agree", {}), ("recipient", "submit", EVIDENCE),
             ("approver", "approve", {}), ("hr_admin", "pay", {"reference": "PAY-2026-03"})],
    "cancelled": [("hr_admin", "cancel", {})],
}


@pytest.fixture
def parties(db, factory):
    """The recipient (a contractor), their approver, an HR administrator and an outsider.

    Found again if they exist, so a module sharing one database (``shared_database``) reuses them.
    """
    team = db.session.scalar(sa.select(Department).where(Department.name_key == "engineering")) \
        or factory.department("Engineering")

    def person(email, **kwargs):
        return db.session.scalar(sa.select(Person).where(Person.email == email)) or factory.person(email, **kwargs)

    approver = person("approver@example.com", name="Ada Approver", department=team)
    return {
        "hr_admin": person("hr@example.com", name="Hana HR", role="hr_admin"),
        "approver": approver,
        "recipient": person("rita@example.com", name="Rita Recipient", kind="contractor", manager=approver,
                            department=team),
        "outsider": person("otto@example.com", name="Otto Outsider", department=team),
    }


@pytest.fixture(scope="module")
def shared_database(_database_source, tmp_path_factory):
    """One migrated database for a whole module instead of one per test.

    A module opts in by overriding ``database_uri`` with a module-scoped fixture that returns it;
    its tests must then not depend on each other (each makes its own plan).
    """
    if isinstance(_database_source, Path):
        path = tmp_path_factory.mktemp("rewards-db") / "polso.sqlite3"
        shutil.copy(_database_source, path)
        yield f"sqlite:///{path}"
    else:
        name, uri = _database_source.new()
        yield uri
        _database_source.drop(name)


@pytest.fixture(scope="module")
def bare_app():
    """An app with no database behind it, for tests of pure functions that need a request context."""
    from app import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def plan_data(recipient="rita@example.com", approver="approver@example.com", *, count=1, currency="EUR",
              starts_on="2026-03-01", **extra) -> dict:
    return {"recipient_email": recipient, "approver_email": approver, "currency": currency, "starts_on": starts_on,
            "milestones": [{"title": f"Milestone {i + 1}", "criteria": f"Criterion {i + 1} met",
                            "amount_minor": 100000 * (i + 1), "due_on": (date(2026, 3, 31) + timedelta(days=30 * i))
                            .isoformat()} for i in range(count)], **extra}


def make_plan(parties, *, count=1, **extra):
    return plans.create_plan(plan_data(count=count, **extra), parties["hr_admin"], NOW)


def drive(parties, milestone_id: int, state: str, now: datetime = NOW) -> None:
    """Bring a milestone to ``state`` through the services, as the right people."""
    for actor, action, data in PATHS[state]:
        transitions.perform(milestone_id, action, parties[actor], data, now)


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def state_of(db, milestone_id: int) -> str:
    return db.session.scalar(sa.select(Milestone.state).where(Milestone.id == milestone_id))


def snapshot(db) -> tuple:
    """Every event and payout, and every milestone's state: what a refused request must leave as it was."""
    return (db.session.execute(sa.select(MilestoneEvent.__table__)).all(),
            db.session.execute(sa.select(Payout.__table__)).all(),
            db.session.execute(sa.select(Milestone.id, Milestone.state).order_by(Milestone.id)).all())
