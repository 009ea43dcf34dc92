"""Each role's home: what to do next, every figure the one the results pages show, nothing the guard hides."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g

import home
import tasks
from actions import services as actions
from dashboards import services
from oneonones.series import create_series
from rewards import plans
from surveys import answering, invitations
from surveys.models import Round
from tests.conftest import PASSWORD
from tests.dashboard_fixtures import NOW

WEEK = NOW + timedelta(days=7)  # the second weekly round opened at 09:00 that morning
SEEN_AT = WEEK + timedelta(hours=2)


@pytest.fixture
def world(app, db, org, closed, monkeypatch):
    """Round 1 closed (dashboard fixtures), round 2 open; the home's clock reads SEEN_AT."""
    second = db.session.get(Round, tasks.tick(WEEK).pulses.opened[0])
    monkeypatch.setattr(home, "_now", lambda: SEEN_AT)
    return {**org, **closed, "open": second}


def page(app, email: str, path: str = "/") -> str:
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    response = client.get(path)
    g.pop("_login_user", None)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


def section(html: str, element_id: str) -> str:
    found = re.search(rf'<section[^>]*(?:id|aria-labelledby)="{element_id}".*?</section>', html, re.S)
    assert found, element_id
    return found.group(0)


def plan(world, title: str, manager, due_on: str | None = None):
    data = {"title": title, "survey_id": world["survey"].id, "owner_email": "boss@example.com",
            "manager_id": manager.id}
    if due_on:
        data["due_on"] = due_on
    return actions.create_action(world["hr"], data, NOW + timedelta(days=6))


# --- HR ------------------------------------------------------------------------------------------


def test_hr_home_shows_the_company_enps_the_results_page_shows(app, world):
    html = page(app, "hr@example.com")
    results = page(app, "hr@example.com", f"/results?survey={world['survey'].id}")
    assert text_of(html, "home-company-score") == text_of(results, "headline-score")
    e = services.dashboard(world["survey"], services.Scope("company")).latest.enps
    assert re.search(r"95% interval: [^<]+", html).group(0) == re.search(r"95% interval: [^<]+", results).group(0)
    assert e.n == 27 and "27 answers" in section(html, "home-company")
    assert "No previous round to compare with." in section(html, "home-company")


def test_hr_home_shows_open_round_participation_for_departments_of_k_or_more(app, world):
    answer = next(q.id for q in world["survey"].questions if q.kind == "enps")
    for person in world["people"]["big"][2:4]:
        answering.submit_response(invitations.invitation_for(person, world["open"].id), {answer: 9},
                                  WEEK + timedelta(minutes=5))
    live = section(page(app, "hr@example.com"), "home-participation")
    assert "Whole company:</span> 2 of 28 invited answered (7 %)" in live
    assert "Big:</span> 2 of 11 invited answered (18 %)" in live
    assert "Child:</span> 0 of 10 invited answered (0 %)" in live
    assert "Tiny" not in live
    assert "refreshed at most once an hour" in live


def test_hr_home_lists_hot_spots_below_the_company_with_a_link_to_the_heatmap(app, world):
    spots = section(page(app, "hr@example.com"), "home-hot-spots")
    assert "Parent / Child</span> · eNPS: +0" in spots
    assert f'/results/heatmap?survey={world["survey"].id}&amp;round={world["round"].id}' in spots
    assert "Big" not in spots  # above the company, not a hot spot


def test_hr_home_lists_overdue_actions_with_links(app, world):
    late = plan(world, "Fix the workload", world["boss"], "2026-03-05")
    plan(world, "Not due yet", world["boss"], "2026-12-31")
    overdue = section(page(app, "hr@example.com"), "home-overdue-actions")
    assert f'href="/actions/{late.id}">Fix the workload</a>' in overdue
    assert "Overdue" in overdue and "Not due yet" not in overdue


def test_a_small_department_appears_in_no_figure_of_the_hr_home(app, world):
    """The attack: everyone in Tiny (3 of them, k = 5) answers the open round and nobody else does;
    Tiny scored −100 in the closed one. Neither its name nor any of its numbers reach the page."""
    answer = next(q.id for q in world["survey"].questions if q.kind == "enps")
    for person in world["people"]["tiny"]:
        answering.submit_response(invitations.invitation_for(person, world["open"].id), {answer: 0},
                                  WEEK + timedelta(minutes=5))
    html = page(app, "hr@example.com")
    assert not re.search(r"\bTiny\b", html)
    assert "−100" not in html
    live = section(html, "home-participation")
    # Company-wide, 3 of 28 is a figure over k invited; no department moved, so none says who.
    assert "Whole company:</span> 3 of 28" in live
    departments = re.findall(r"</span> (\d+) of (\d+) invited", live)[1:]
    assert departments and all(answered == "0" and int(invited) >= 5 for answered, invited in departments)


# --- Managers ------------------------------------------------------------------------------------


def test_manager_home_shows_the_teams_result_the_results_page_shows(app, world):
    html = page(app, "boss@example.com")
    results = page(app, "boss@example.com", f"/results?survey={world['survey'].id}")
    assert text_of(html, "home-team-score") == text_of(results, "headline-score")
    assert "home-roll-up" not in html


def test_a_hidden_teams_manager_sees_the_labelled_roll_up_and_never_their_teams_number(app, world):
    html = page(app, "tinyboss@example.com")
    results = page(app, "tinyboss@example.com", f"/results?survey={world['survey'].id}")
    team = section(html, "home-team-result")
    assert "this is Bea Boss’s whole organisation" in team
    assert text_of(html, "home-team-score") == text_of(results, "headline-score")
    assert "−100" not in html


def test_manager_home_lists_their_actions_next_meetings_and_reports_not_met(app, world, db):
    mine = plan(world, "Fix the workload", world["boss"])
    other = plan(world, "Tiny team plan", world["tiny_boss"])
    other.owner_id = world["tiny_boss"].id
    db.session.commit()
    report = world["people"]["big"][2]
    series = create_series(world["boss"], {"report_email": report.email, "cadence": "weekly",
                                           "starts_at": (SEEN_AT + timedelta(days=1)).replace(microsecond=0)
                                           .isoformat()}, SEEN_AT)
    html = page(app, "boss@example.com")
    own = section(html, "home-own-actions")
    assert f'href="/actions/{mine.id}"' in own
    assert "Tiny team plan" in own  # a team below hers is hers to follow too
    upcoming = section(html, "home-upcoming-meetings")
    assert f"/one-on-ones/{series.id}/meetings/" in upcoming and f"With {report.name}" in upcoming
    not_met = section(html, "home-not-met-reports")
    assert "Tim Tiny" in not_met and f"?report={world['tiny_boss'].id}" in not_met
    assert f"{report.name}</span> · no meeting in the last year" in not_met  # scheduled, never met yet


# --- Employees -----------------------------------------------------------------------------------


def test_employee_home_shows_open_surveys_shared_results_team_actions_and_milestones(app, world):
    services.share_round(world["round"], world["hr"], NOW + timedelta(days=6))
    ours = plan(world, "Fix the workload", world["boss"])
    plan(world, "Tiny team plan", world["tiny_boss"])
    employee = world["people"]["big"][3]
    plans.create_plan({"recipient_email": employee.email, "approver_email": "boss@example.com", "currency": "EUR",
                       "title": "Certification", "milestones": [
                           {"title": "Pass the exam", "criteria": "Certificate", "amount_minor": 50000,
                            "due_on": "2026-04-01"}]}, world["hr"], NOW)
    html = page(app, employee.email)
    assert f'href="/my/surveys/{world["open"].id}"' in section(html, "open-surveys")
    shared = section(html, "home-shared-results")
    results = page(app, employee.email, "/results/shared")
    assert text_of(html, "home-shared-score") == text_of(results, "headline-score")
    assert 'href="/results/shared"' in shared
    team = section(html, "home-actions")
    assert f'href="/actions/{ours.id}"' in team and "Tiny team plan" not in team
    milestones = section(html, "home-milestone-plans")
    assert "Certification" in milestones and "Pass the exam" in milestones


def test_employee_home_without_shared_results_says_so(app, world):
    html = page(app, world["people"]["big"][3].email)
    assert "HR has not shared any results yet." in section(html, "home-shared-results")
    assert "home-company" not in html and "home-participation" not in html


def test_employee_sees_no_manager_or_hr_cards(app, world):
    html = page(app, world["people"]["child"][0].email)
    for card in ("home-team-result", "home-own-actions", "home-hot-spots", "home-overdue-actions"):
        assert card not in html
