"""Every answer the API gives is the one its document describes.

One scenario drives every operation of ``/api/v1/openapi.json`` through the real app, as HR, a
manager, an employee and a stranger, with good requests and bad ones. Each answer's status must
be listed for its operation, and its body must validate against that status's schema, taken
from the served document, with one rule more: an object takes no field its schema does not list.
A handler that returns a field of the wrong type, an undocumented field or an undocumented
status fails here, and so does an operation nobody called.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest

from oneonones.models import Series

PREFIX = "/api/v1"


def _closed(node):
    """The schema with ``additionalProperties: false`` wherever an object lists its properties."""
    if isinstance(node, dict):
        node = {key: _closed(value) if key != "properties" else {k: _closed(v) for k, v in value.items()}
                for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


class Checker:
    def __init__(self, client):
        self.client = client
        self.document = client.get(f"{PREFIX}/openapi.json").get_json()
        self.components = _closed(copy.deepcopy(self.document["components"]))
        self.templates = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
                          for path in self.document["paths"]]
        self.seen: set[tuple[str, str]] = set()
        self.statuses: set[tuple[str, str, int]] = set()

    def path_of(self, url: str) -> str:
        bare = url.removeprefix(PREFIX).split("?", 1)[0]
        matches = [path for pattern, path in self.templates if pattern.match(bare)]
        assert len(matches) == 1, (url, matches)
        return matches[0]

    def __call__(self, method: str, url: str, expect: int, headers=None, **kwargs):
        response = self.client.open(f"{PREFIX}{url}", method=method, headers=headers or {}, **kwargs)
        path = self.path_of(url)
        operation = self.document["paths"][path][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], (method, url, status, response.get_data(as_text=True)[:500])
        described = operation["responses"][status]
        if "content" in described:
            schema = described["content"]["application/json"]["schema"]
            body = response.get_json()
            validator = jsonschema_rs.Draft202012Validator({**_closed(schema), "components": self.components})
            errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
            assert errors == [], (method, url, status, body)
        else:
            assert response.get_data() == b"", (method, url, status)
        assert response.status_code == expect, (method, url, status, response.get_data(as_text=True)[:500])
        self.seen.add((path, method.upper()))
        self.statuses.add((path, method.upper(), response.status_code))
        return response

    def operations(self) -> set[tuple[str, str]]:
        return {(path, method.upper()) for path, item in self.document["paths"].items() for method in item}


def _token(client, email: str) -> dict[str, str]:
    from tests.conftest import PASSWORD

    response = client.post(f"{PREFIX}/auth/token", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def check(client):
    return Checker(client)


def test_every_operation_answers_as_the_document_says(client, db, closed, org, factory, check):
    from tests.conftest import PASSWORD

    hr, manager, employee = (_token(client, e) for e in ("hr@example.com", "boss@example.com", "big0@example.com"))
    survey_id, round_id = closed["survey"].id, closed["round"].id

    # The document and tokens.
    check("GET", "/openapi.json", 200)
    check("POST", "/auth/token", 201, json={"email": "hr@example.com", "password": PASSWORD})
    check("POST", "/auth/token", 401, json={"email": "hr@example.com", "password": "wrong"})
    check("POST", "/auth/token", 422, json={"email": "hr@example.com"})
    check("POST", "/auth/token", 400, data="[1]", content_type="application/json")

    # Departments and people.
    check("GET", "/departments", 200, hr)
    check("GET", "/departments", 401)
    check("GET", "/departments", 403, employee)
    ops = check("POST", "/departments", 201, hr, json={"name": "Ops", "parent_id": org["acme"].id}).get_json()
    check("POST", "/departments", 422, hr, json={"name": 5, "colour": "red"})
    check("POST", "/departments", 400, hr, data="x", content_type="application/json")
    check("POST", "/departments", 403, manager, json={"name": "Nope"})
    check("GET", "/employees?page=2&per_page=5", 200, hr)
    check("GET", "/employees?page=0", 422, hr)
    check("GET", "/employees", 403, employee)
    body = {"email": "new@example.com", "name": "New Person", "department_id": ops["id"],
            "manager_email": "boss@example.com", "hired_on": "2024-05-01", "locale": "it"}
    new_id = check("POST", "/employees", 201, hr, json=body).get_json()["id"]
    check("POST", "/employees", 200, hr, json={**body, "kind": "contractor", "invite": True})
    check("POST", f"/employees/{new_id}/invite", 200, hr)  # sent again
    check("POST", "/employees/999999/invite", 404, hr)
    check("POST", f"/employees/{new_id}/invite", 403, employee)
    check("POST", "/employees/1/invite", 401)
    check("POST", "/employees", 422, hr, json={"email": "x@example.com", "name": ["X"], "salary": 1})
    check("POST", "/employees", 400, hr, data="[]", content_type="application/json")
    check("POST", "/employees", 403, employee, json=body)

    # Surveys, rounds, invitations and responses.
    check("GET", "/surveys", 200, hr)
    check("GET", "/surveys", 200, employee)
    check("GET", "/surveys", 401)
    created = check("POST", "/surveys", 201, hr, json={
        "title": "Check-in", "cadence": "once", "min_group_size": 3,
        "questions": [{"library_key": "enps"}, {"kind": "choice", "text": "Lunch?", "options": ["Pasta", "Pizza"]},
                      {"kind": "text", "text": "Anything else?", "text_it": "Altro?"}]}).get_json()
    check("POST", "/surveys", 422, hr, json={"title": "T", "cadence": [], "questions": []})
    check("POST", "/surveys", 400, hr, data="nope", content_type="application/json")
    check("POST", "/surveys", 403, employee, json={"title": "T", "cadence": "once", "questions": []})
    check("GET", f"/surveys/{created['id']}", 200, hr)
    check("GET", "/surveys/999999", 404, hr)
    check("GET", f"/surveys/{created['id']}", 403, employee)
    opened = check("POST", f"/surveys/{created['id']}/rounds", 201, hr).get_json()
    check("POST", f"/surveys/{created['id']}/rounds", 409, hr)
    check("POST", "/surveys/999999/rounds", 404, hr)
    check("POST", f"/surveys/{created['id']}/rounds", 403, employee)
    factory.person("stranger@example.com")  # after the round opened: not invited, in no plan, no one-on-one
    stranger = _token(client, "stranger@example.com")
    invitations = check("GET", "/me/invitations", 200, employee).get_json()["items"]
    assert opened["id"] in [i["round_id"] for i in invitations]
    check("GET", "/me/invitations", 401)
    questions = {q["kind"]: q["id"] for q in created["questions"]}
    answers = {"answers": [{"question_id": questions["enps"], "value": 9},
                           {"question_id": questions["choice"], "value": "Pizza"}]}
    check("POST", f"/rounds/{opened['id']}/responses", 422, employee,
          json={"answers": [{"question_id": questions["enps"], "value": 11}]})
    check("POST", f"/rounds/{opened['id']}/responses", 422, employee, json={"answers": [{"value": 1}]})
    check("POST", f"/rounds/{opened['id']}/responses", 400, employee, data="1", content_type="application/json")
    check("POST", f"/rounds/{opened['id']}/responses", 201, employee, json=answers)
    check("POST", f"/rounds/{opened['id']}/responses", 409, employee, json=answers)
    check("POST", "/rounds/999999/responses", 404, employee, json=answers)
    check("POST", f"/rounds/{opened['id']}/responses", 403, stranger, json=answers)

    # Results and trends.
    check("GET", f"/rounds/{round_id}/results", 200, hr)
    check("GET", f"/rounds/{round_id}/results?department_id={org['tiny'].id}", 200, hr)  # suppressed
    check("GET", f"/rounds/{round_id}/results?department_id={org['big'].id}", 200, hr)
    check("GET", f"/rounds/{round_id}/results?manager_id={org['boss'].id}", 200, manager)
    check("GET", f"/rounds/{opened['id']}/results", 200, hr)  # still open
    check("GET", f"/rounds/{round_id}/results?manager_id=x", 422, hr)
    check("GET", f"/rounds/{round_id}/results", 403, employee)
    check("GET", "/rounds/999999/results", 404, hr)
    check("GET", f"/surveys/{survey_id}/trend", 200, hr)
    check("GET", f"/surveys/{survey_id}/trend?group_by=department", 200, hr)
    check("GET", f"/surveys/{survey_id}/trend?group_by=team", 422, hr)
    check("GET", f"/surveys/{survey_id}/trend", 403, manager)
    check("GET", "/surveys/999999/trend", 404, hr)
    check("GET", f"/surveys/{survey_id}/heatmap", 200, hr)
    check("GET", f"/surveys/{survey_id}/heatmap?round_id={round_id}", 200, manager)
    check("GET", f"/surveys/{created['id']}/heatmap?round_id={opened['id']}", 409, hr)  # still open
    check("GET", f"/surveys/{survey_id}/heatmap?round_id={opened['id']}", 404, hr)  # another survey's round
    check("GET", f"/surveys/{survey_id}/heatmap?round_id=x", 422, hr)
    check("GET", f"/surveys/{survey_id}/heatmap", 403, employee)
    check("GET", f"/surveys/{survey_id}/heatmap", 401)
    check("GET", "/surveys/999999/heatmap", 404, hr)

    # Action plans on a driver, with its figures since the baseline round.
    likert = next(q.id for q in closed["survey"].questions if q.kind == "likert")
    plan = {"title": "Fewer meetings", "survey_id": survey_id, "question_id": likert, "manager_id": org["boss"].id,
            "owner_email": "boss@example.com", "due_on": "2026-04-30"}
    action = check("POST", "/actions", 201, manager, json=plan).get_json()
    check("POST", "/actions", 201, hr, json={**plan, "question_id": None, "manager_id": None,
                                             "department_id": org["tiny"].id})  # hidden: reason, no number
    check("POST", "/actions", 422, hr, json={**plan, "status": "someday", "colour": "red"})
    check("POST", "/actions", 400, hr, data="[]", content_type="application/json")
    check("POST", "/actions", 403, employee, json=plan)
    check("POST", "/actions", 403, manager, json={**plan, "manager_id": None})
    check("POST", "/actions", 422, hr, json={**plan, "manager_id": None, "department_id": 999999})
    check("POST", "/actions", 401, json=plan)
    check("GET", "/actions", 200, hr)
    check("GET", "/actions?status=planned", 200, employee)
    check("GET", "/actions?status=someday", 422, hr)
    check("GET", "/actions", 401)
    check("GET", f"/actions/{action['id']}", 200, hr)
    check("GET", f"/actions/{action['id']}", 200, employee)  # their team's: figures not theirs to see
    check("GET", "/actions/999999", 404, hr)
    check("GET", f"/actions/{action['id']}", 401)
    check("PATCH", f"/actions/{action['id']}", 200, manager, json={"status": "in_progress", "note": "Started"})
    check("PATCH", f"/actions/{action['id']}", 422, manager, json={"survey_id": 1})
    check("PATCH", f"/actions/{action['id']}", 400, manager, data="1", content_type="application/json")
    check("PATCH", f"/actions/{action['id']}", 403, employee, json={"status": "done"})
    check("PATCH", "/actions/999999", 404, hr, json={"status": "done"})
    check("PATCH", f"/actions/{action['id']}", 401, json={"status": "done"})

    # One-on-ones: the manager and one direct report.
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    series = check("POST", "/one-on-ones", 201, manager, json={
        "report_email": "big0@example.com", "cadence": "weekly", "starts_at": starts.isoformat(),
        "duration_minutes": 45, "timezone": "Europe/Rome"}).get_json()
    check("POST", "/one-on-ones", 409, manager, json={
        "report_email": "big0@example.com", "cadence": "weekly", "starts_at": starts.isoformat()})
    check("POST", "/one-on-ones", 403, manager, json={
        "report_email": "tiny0@example.com", "cadence": "weekly", "starts_at": starts.isoformat()})
    check("POST", "/one-on-ones", 422, manager, json={"report_email": "big1@example.com", "cadence": "daily",
                                                       "starts_at": starts.isoformat(), "duration_minutes": 1})
    check("POST", "/one-on-ones", 400, manager, data="[]", content_type="application/json")
    base = f"/one-on-ones/{series['id']}"
    meetings = check("GET", f"{base}/occurrences", 200, employee).get_json()
    check("GET", f"{base}/occurrences?from=2030-01-01&to=2029-01-01", 422, manager)
    check("GET", f"{base}/occurrences", 403, hr)
    check("GET", "/one-on-ones/999999/occurrences", 404, manager)
    first, second = meetings[0]["key"], meetings[1]["key"]
    _add_items(db, series["id"], first)
    meeting = check("GET", f"{base}/occurrences/{first}", 200, manager).get_json()
    check("GET", f"{base}/occurrences/20000101T000000Z", 404, manager)
    check("GET", f"{base}/occurrences/{first}", 403, stranger)
    check("POST", f"{base}/occurrences/{first}/move", 200, manager,
          json={"starts_at": (starts + timedelta(hours=3)).isoformat(), "duration_minutes": 30})
    check("POST", f"{base}/occurrences/{first}/move", 422, manager, json={"starts_at": "x", "room": 4})
    check("POST", f"{base}/occurrences/{first}/move", 400, manager, data="x", content_type="application/json")
    check("POST", f"{base}/occurrences/{first}/move", 403, employee, json={"starts_at": starts.isoformat()})
    check("POST", f"{base}/occurrences/{second}/cancel", 200, manager)
    check("POST", f"{base}/occurrences/{second}/cancel", 403, employee)
    check("POST", f"{base}/occurrences/nope/cancel", 404, manager)
    check("POST", f"{base}/occurrences/{second}/restore", 200, manager)
    check("POST", f"{base}/occurrences/nope/restore", 404, manager)
    agenda_id = meeting["agenda"][0]["id"]
    action_id = meeting["action_items"][0]["id"]
    check("DELETE", f"{base}/agenda-items/{agenda_id}", 403, manager)  # the report added it
    check("DELETE", f"{base}/agenda-items/{agenda_id}", 204, employee)
    check("DELETE", f"{base}/agenda-items/{agenda_id}", 404, employee)
    check("DELETE", f"{base}/action-items/{action_id}", 204, employee)
    check("DELETE", f"{base}/action-items/{action_id}", 404, employee)
    check("GET", "/me/calendar", 404, employee)
    check("POST", "/me/calendar", 201, employee)
    check("GET", "/me/calendar", 200, employee)
    check("POST", "/me/calendar", 401)

    # Milestone plans: HR creates, the employee receives, the manager approves.
    plan = check("POST", "/milestone-plans", 201, hr, json={
        "recipient_email": "big0@example.com", "approver_email": "boss@example.com", "currency": "eur",
        "title": "Launch", "payment_terms_days": 30,
        "milestones": [{"title": "Beta", "criteria": "Ten users", "amount_minor": 150000,
                        "due_on": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()}]}).get_json()
    check("POST", "/milestone-plans", 422, hr, json={"recipient_email": "big0@example.com", "milestones": [{}]})
    check("POST", "/milestone-plans", 400, hr, data="[]", content_type="application/json")
    check("POST", "/milestone-plans", 403, manager, json={})
    check("GET", "/milestone-plans", 200, hr)
    check("GET", "/milestone-plans?role=recipient&per_page=1", 200, employee)
    check("GET", "/milestone-plans?role=boss", 422, employee)
    check("GET", "/milestone-plans", 401)
    check("GET", f"/milestone-plans/{plan['id']}", 200, manager)
    check("GET", f"/milestone-plans/{plan['id']}", 403, stranger)
    check("GET", "/milestone-plans/999999", 404, hr)
    milestone = plan["milestones"][0]
    edit = {"milestones": [{**{k: milestone[k] for k in ("id", "title", "criteria", "due_on")},
                            "amount_minor": 160000}], "note": "Raised", "terms_version": plan["terms_version"]}
    edited = check("PUT", f"/milestone-plans/{plan['id']}/milestones", 200, hr, json=edit).get_json()
    check("PUT", f"/milestone-plans/{plan['id']}/milestones", 422, hr, json={"milestones": []})
    check("PUT", f"/milestone-plans/{plan['id']}/milestones", 400, hr, data="1", content_type="application/json")
    check("PUT", f"/milestone-plans/{plan['id']}/milestones", 403, employee, json=edit)
    check("PUT", "/milestone-plans/999999/milestones", 404, hr, json=edit)
    milestone_id = edited["milestones"][0]["id"]
    act = f"/milestones/{milestone_id}"
    check("POST", f"{act}/agree", 200, employee, json={"terms_version": edited["terms_version"]})
    check("PUT", f"/milestone-plans/{plan['id']}/milestones", 409, hr,
          json={**edit, "terms_version": edited["terms_version"]})
    check("POST", f"{act}/agree", 200, manager)
    check("POST", f"{act}/approve", 409, manager)
    check("POST", f"{act}/submit", 422, employee, json={"note": 5, "size": 1})
    check("POST", f"{act}/submit", 400, employee, data="[]", content_type="application/json")
    check("POST", f"{act}/submit", 200, employee, json={"note": "Done", "evidence_url": "https://example.com/beta"})
    check("POST", f"{act}/approve", 403, employee)
    check("POST", f"{act}/approve", 200, manager, json={"note": "Great"})
    check("POST", f"{act}/pay", 200, hr, json={"reference": "INV-1"})
    check("POST", f"{act}/fly", 404, hr)
    check("POST", f"{act}/cancel", 403, stranger)
    check("GET", f"/milestone-plans/{plan['id']}", 200, hr)  # with events and a payout

    assert check.operations() - check.seen == set()


def _add_items(db, series_id: int, key: str) -> None:
    """An agenda item and an action item by the report on the first meeting (no API writes them)."""
    from oneonones.agenda import add_action_item, add_agenda_item
    from oneonones.occurrences import find_occurrence

    series = db.session.get(Series, series_id)
    occurrence = find_occurrence(series, key)
    now = datetime.now(UTC)
    add_agenda_item(series, occurrence, series.report, "Career goals", now)
    add_action_item(series, occurrence, series.report, {"text": "Draft plan", "owner_id": series.report.id}, now)


def test_a_wrong_type_in_an_answer_fails_the_check(client, db, factory, check, monkeypatch):
    """The check itself: a department whose id is text does not pass."""
    from api import people

    factory.person("hr@example.com", role="hr_admin")
    hr = _token(client, "hr@example.com")
    monkeypatch.setattr(people, "department_json", lambda d: {"id": str(d.id), "name": d.name,
                                                              "parent_id": d.parent_id})
    with pytest.raises(AssertionError, match="is not of type"):
        check("POST", "/departments", 201, hr, json={"name": "Ops"})
    monkeypatch.setattr(people, "department_json", lambda d: {"id": d.id, "name": d.name, "parent_id": None,
                                                              "colour": "red"})
    with pytest.raises(AssertionError, match="colour"):
        check("POST", "/departments", 201, hr, json={"name": "Sales"})



def test_every_operation_is_named_and_every_answer_typed(check):
    """Each operation has its own operationId; each answer but a 204 has a schema, errors the shared one;
    no schema is a bare object that says nothing of its fields."""
    operations = [(path, method, op) for path, item in check.document["paths"].items() for method, op in item.items()]
    ids = [op.get("operationId") for _path, _method, op in operations]
    assert None not in ids and len(set(ids)) == len(ids)
    for path, method, op in operations:
        for status, answer in op["responses"].items():
            if status == "204":
                assert "content" not in answer, (path, method)
                continue
            schema = answer["content"]["application/json"]["schema"]
            if status.startswith("4"):
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            else:
                assert "$ref" in schema, (path, method, status)

    def bare(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and not ({"properties", "additionalProperties"} & set(node)):
                yield where
            for key, value in node.items():
                yield from bare(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from bare(value, f"{where}[{index}]")

    assert list(bare(check.document["components"]["schemas"], "schemas")) == []
