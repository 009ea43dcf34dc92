"""Live participation of an open round: groups of at least k invited only, and at most an hour old."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import tasks
from dashboards import live
from dashboards.live import LiveParticipation
from surveys import answering, building, invitations
from surveys.models import Round
from tests.dashboard_fixtures import NOW

MINUTE = timedelta(minutes=1)


@pytest.fixture
def open_round(org, db):
    """A weekly round of the org fixture (Big 12, Tiny 3, Parent 2 + Child 10, HR 1), open since NOW; k = 5."""
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                     "questions": [{"library_key": "enps", "required": True}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    return {"survey": survey, "round": db.session.get(Round, round_id),
            "enps": next(q.id for q in survey.questions if q.kind == "enps")}


def answer(people, open_round, at) -> None:
    for person in people:
        invitation = invitations.invitation_for(person, open_round["round"].id)
        answering.submit_response(invitation, {open_round["enps"]: 8}, at)


def departments(figures) -> dict[int, tuple[int, int]]:
    return {g.key: (g.participation.responses, g.participation.invited) for g in figures.departments}


def test_departments_under_k_invited_are_absent(org, open_round):
    figures = live.live_participation(open_round["round"], NOW + MINUTE)
    shown = departments(figures)
    assert org["tiny"].id not in shown
    # Bea Boss, alone in her (department, team) segment, counts one level up, as her answers will when it closes.
    assert shown[org["big"].id] == (0, 11)
    assert org["acme"].id not in shown  # the one top department is the company itself
    assert (figures.company.responses, figures.company.invited) == (0, 28)
    assert all(invited >= figures.k for _answered, invited in shown.values())


def test_two_answers_within_the_hour_do_not_change_the_figure(org, open_round):
    first = live.live_participation(open_round["round"], NOW + MINUTE)
    answer(org["people"]["big"][2:3], open_round, NOW + 10 * MINUTE)
    answer(org["people"]["big"][3:4], open_round, NOW + 20 * MINUTE)
    later = live.live_participation(open_round["round"], NOW + 59 * MINUTE)
    assert later.company == first.company and departments(later) == departments(first)
    assert later.taken_at == first.taken_at
    after = live.live_participation(open_round["round"], NOW + 61 * MINUTE)
    assert after.company.responses == 2
    assert departments(after)[org["big"].id] == (2, 11)


def test_a_first_look_late_in_a_clock_hour_still_holds_for_an_hour(org, open_round):
    # A cache per clock hour would let 10:59 and 11:00 show the answers of one minute.
    live.live_participation(open_round["round"], NOW + 59 * MINUTE)
    answer(org["people"]["big"][:1], open_round, NOW + 60 * MINUTE)
    assert live.live_participation(open_round["round"], NOW + 61 * MINUTE).company.responses == 0
    assert live.live_participation(open_round["round"], NOW + 119 * MINUTE).company.responses == 1


def test_a_small_department_cannot_be_worked_out_from_the_shown_figures(org, open_round):
    """The attack: everyone in Tiny (3 people, k = 5) answers, nobody else does. No figure, and no difference
    of figures, isolates fewer than k invited people, so Tiny's answering stays inside a crowd of k."""
    live.live_participation(open_round["round"], NOW)
    answer(org["people"]["tiny"], open_round, NOW + MINUTE)
    figures = live.live_participation(open_round["round"], NOW + 2 * live.REFRESH)
    assert figures.company.responses == 3
    shown = departments(figures)
    assert org["tiny"].id not in shown
    assert all(invited >= figures.k for _answered, invited in shown.values())
    # The disjoint top-level departments shown, taken from the company: what is left is a crowd of k or more.
    top = [key for key in shown if key in (org["big"].id, org["parent"].id)]
    rest = figures.company.invited - sum(shown[key][1] for key in top)
    assert rest == 0 or rest >= figures.k
    # Each shown department says nothing about Tiny: none moved.
    assert all(answered == 0 for answered, _invited in shown.values())


def test_the_snapshot_stores_only_shown_groups(db, org, open_round):
    live.live_participation(open_round["round"], NOW)
    row = db.session.get(LiveParticipation, open_round["round"].id)
    assert str(org["tiny"].id) not in row.figures["department"]
    assert set(row.figures) == {"company", "department"}


def test_two_processes_refreshing_at_once_keep_one_snapshot(db, org, open_round, app):
    """A second process's snapshot, written after this one read the old one, is not overwritten."""
    round_ = open_round["round"]
    live.live_participation(round_, NOW)
    stale = db.session.get(LiveParticipation, round_.id)
    # Another process refreshes first (its own connection, its own transaction).
    with db.engine.begin() as conn:
        conn.execute(sa.update(LiveParticipation).where(LiveParticipation.round_id == round_.id)
                     .values(taken_at=NOW + 90 * MINUTE, figures={"company": [7, 28], "department": {}}))
    assert stale.taken_at == NOW  # what this process still holds
    figures = live.live_participation(round_, NOW + 100 * MINUTE)
    assert figures.company.responses == 7 and figures.taken_at == NOW + 90 * MINUTE


def test_two_processes_taking_the_first_snapshot_at_once_keep_one(db, org, open_round, monkeypatch):
    """This process saw no snapshot, but another wrote one before this one's insert: the other's stands."""
    round_ = open_round["round"]
    with db.engine.begin() as conn:
        conn.execute(sa.insert(LiveParticipation).values(round_id=round_.id, taken_at=NOW,
                                                         figures={"company": [4, 28], "department": {}}))
    real, calls = live._read, []

    def first_read_misses(round_id):
        calls.append(round_id)
        return None if len(calls) == 1 else real(round_id)

    monkeypatch.setattr(live, "_read", first_read_misses)
    figures = live.live_participation(round_, NOW + MINUTE)
    assert figures.company.responses == 4 and figures.taken_at == NOW
    assert len(calls) == 2  # missed, tried to insert, read the other's


def test_a_closed_rounds_snapshot_is_dropped(db, org, open_round):
    round_ = open_round["round"]
    live.live_participation(round_, NOW)
    tasks.tick(round_.closes_at)
    assert live.open_rounds(round_.closes_at) == []
    week = NOW + timedelta(days=7)
    later = db.session.get(Round, tasks.tick(week).pulses.opened[0])
    live.live_participation(later, week)
    assert db.session.get(LiveParticipation, round_.id) is None


def test_the_migration_creates_the_table_the_model_declares(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "live_participation" in repr(d)] == []
