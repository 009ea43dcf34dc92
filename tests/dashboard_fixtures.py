"""An organisation with a closed round whose groups test every anonymity rule; shared by dashboard tests."""

from datetime import UTC, datetime, timedelta

import pytest

import tasks
from surveys import answering, building, invitations
from surveys.models import Round

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def org(factory, db):
    """Departments: Big (12), Tiny (3, all detractors), Parent (2 own) with Child (10); HR outside."""
    acme = factory.department("Acme")
    big = factory.department("Big", acme)
    tiny = factory.department("Tiny", acme)
    parent = factory.department("Parent", acme)
    child = factory.department("Child", parent)
    hr = factory.person("hr@example.com", role="hr_admin", name="Hana HR")
    boss = factory.person("boss@example.com", department=big, name="Bea Boss")
    tiny_boss = factory.person("tinyboss@example.com", department=big, manager=boss, name="Tim Tiny")
    people = {"big": [boss, tiny_boss] + [factory.person(f"big{i}@example.com", department=big, manager=boss)
                                          for i in range(10)],
              "tiny": [factory.person(f"tiny{i}@example.com", department=tiny, manager=tiny_boss) for i in range(3)],
              "parent": [factory.person(f"par{i}@example.com", department=parent, manager=boss) for i in range(2)],
              "child": [factory.person(f"child{i}@example.com", department=child, manager=boss) for i in range(10)]}
    return {"acme": acme, "big": big, "tiny": tiny, "parent": parent, "child": child, "hr": hr, "boss": boss,
            "tiny_boss": tiny_boss, "people": people}


SCORES = {"big": 9, "tiny": 0, "parent": 7, "child": 8}


@pytest.fixture
def closed(org, db):
    """One weekly round, everyone answers (Tiny: eNPS 0 and a telltale comment), then it closes."""
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                     "questions": [{"library_key": "enps", "required": True},
                                                   {"library_key": "workload_manageable"},
                                                   {"kind": "text", "text": "Comments?"}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    q = {question.kind: question.id for question in survey.questions}
    for group, people in org["people"].items():
        for person in people:
            invitation = invitations.invitation_for(person, round_id)
            answers = {q["enps"]: SCORES[group], q["likert"]: 1 if group == "tiny" else 4}
            if group == "tiny":
                answers[q["text"]] = "TINY-SECRET-COMMENT"
            answering.submit_response(invitation, answers, NOW + timedelta(hours=1))
    round_ = db.session.get(Round, round_id)
    tasks.tick(round_.closes_at)
    db.session.refresh(round_)
    return {"survey": survey, "round": round_, "q": q}


