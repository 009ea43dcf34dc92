"""Attacks on what is shown: everything HR or a manager can read, combined, must not give away one person.

Each test builds the situation an attacker found on the old guard and reads what the pages and
the API show, as the attacker did.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import tasks
from dashboards import services as dash
from dashboards.models import RoundResult
from extensions import db
from surveys import answering, building, invitations
from surveys.models import Round

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
K = 5


def pulse():
    return building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02", "questions": [
        {"library_key": "enps", "required": True}, {"kind": "choice", "text": "Where do you work?",
                                                     "options": ["office", "remote"]}]}, NOW)


def run_round(answers, week=0):
    """Open the week's round, answer {person: (enps, choice or None)}, close it; return the round id."""
    at = NOW + timedelta(weeks=week)
    round_id = tasks.tick(at).pulses.opened[0]
    round_ = building.get_survey(db.session.get(Round, round_id).survey_id)
    enps_q, choice_q = (q.id for q in round_.questions)
    for person, (score, choice) in answers.items():
        values = {enps_q: score}
        if choice is not None:
            values[choice_q] = choice
        answering.submit_response(invitations.invitation_for(person, round_id), values, at + timedelta(hours=1))
    tasks.tick(db.session.get(Round, round_id).closes_at)
    return round_id


def results(client, headers, round_id, **scope):
    query = "&".join(f"{name}={value}" for name, value in scope.items())
    return client.get(f"/api/v1/rounds/{round_id}/results?{query}", headers=headers).get_json()


def choice_counts(body):
    if body.get("suppressed"):
        return None
    item = next(q for q in body["questions"] if q["kind"] == "choice")
    return None if item.get("suppressed") else item["counts"]


def never_isolated(pairs):
    """No two shown histograms differ by 1..k-1 answers (the subtraction the attacker did)."""
    for a, b in pairs:
        if a is not None and b is not None:
            assert not 0 < abs(sum(a) - sum(b)) < K, (a, b)


@pytest.fixture
def nested(factory, db):
    """Department Parent = its five direct members + Child (five); one direct member answers the optional question."""
    parent = factory.department("Parent")
    child = factory.department("Child", parent)
    head = factory.person("head@example.com", department=parent, name="Hedda Head")
    lead = factory.person("lead@example.com", department=parent, manager=head, name="Lars Lead")
    direct = [lead] + [factory.person(f"d{i}@example.com", department=parent, manager=head) for i in range(4)]
    kids = [factory.person(f"c{i}@example.com", department=child, manager=lead) for i in range(5)]
    hr = factory.person("hr@example.com", role="hr_admin")
    others = [factory.person(f"o{i}@example.com") for i in range(5)]
    pulse()
    answers = dict.fromkeys(direct + others, (8, None))
    answers[direct[1]] = (0, "remote")  # the only direct member who says where they work
    answers.update(dict.fromkeys(kids, (9, "office")))
    round_id = run_round(answers)
    return {"round": round_id, "parent": parent, "child": child, "head": head, "lead": lead, "hr": hr}


def test_per_question_subtraction_of_two_departments_gives_hr_nothing(client, nested, api_token):
    headers = api_token("hr@example.com")
    parent = results(client, headers, nested["round"], department_id=nested["parent"].id)
    child = results(client, headers, nested["round"], department_id=nested["child"].id)
    company = results(client, headers, nested["round"])
    never_isolated([(choice_counts(parent), choice_counts(child)), (choice_counts(company), choice_counts(child)),
                    (choice_counts(company), choice_counts(parent))])
    # at most one of Parent and Child shows where people work: together they would give the lone answer
    assert choice_counts(parent) is None or choice_counts(child) is None


def test_per_question_subtraction_of_a_managers_teams_gives_the_manager_nothing(client, nested, api_token):
    headers = api_token("head@example.com")
    organisation = results(client, headers, nested["round"], manager_id=nested["head"].id)
    team = results(client, headers, nested["round"], manager_id=nested["lead"].id)
    never_isolated([(choice_counts(organisation), choice_counts(team))])


def test_one_on_one_talking_points_repeat_no_figure_the_guard_hides(factory, db):
    head = factory.person("head@example.com")
    lead = factory.person("lead@example.com", manager=head)
    direct = [lead] + [factory.person(f"d{i}@example.com", manager=head) for i in range(4)]
    kids = [factory.person(f"c{i}@example.com", manager=lead) for i in range(5)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02", "questions": [
        {"library_key": "enps", "required": True}, {"library_key": "workload_manageable"}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    enps_q, likert_q = (q.id for q in survey.questions)
    for person in direct + kids:
        values = {enps_q: 7}
        if person in kids or person is direct[2]:  # one direct member answers the optional driver
            values[likert_q] = 1 if person is direct[2] else 5
        answering.submit_response(invitations.invitation_for(person, round_id), values, NOW)
    tasks.tick(db.session.get(Round, round_id).closes_at)
    counts = []
    for manager in (head, lead):
        points = dash.team_talking_points(manager.id)
        assert points.shown  # the teams themselves are shown; only the driver may be held back
        counts.append(next((d.favorability.n for d in points.drivers if d.question_id == likert_q), None))
    company = dash.results_for_round(survey, db.session.get(Round, round_id), dash.Scope("company"))
    company_n = next(q.favorability.n for q in company.questions if q.favorability is not None)
    counts = [c for c in counts if c is not None]
    assert all(not 0 < company_n - c < K for c in counts), (company_n, counts)
    # the head's organisation and the lead's team never show the driver 1..k-1 answers apart
    if len(counts) == 2:
        assert not 0 < abs(counts[0] - counts[1]) < K, counts


def test_whether_a_lone_direct_member_answered_changes_no_verdict(client, factory, db, api_token):
    """The head is the only direct member of Parent: answering or not must leave every verdict as it was."""
    parent = factory.department("Parent")
    child = factory.department("Child", parent)
    head = factory.person("head@example.com", department=parent)
    kids = [factory.person(f"c{i}@example.com", department=child, manager=head) for i in range(6)]
    others = [factory.person(f"o{i}@example.com") for i in range(5)]
    factory.person("hr@example.com", role="hr_admin")
    pulse()
    everyone = dict.fromkeys(kids + others, (7, None))
    answered = run_round({**everyone, head: (0, None)}, week=0)
    skipped = run_round(everyone, week=1)

    def pattern(round_id):
        return {(r.kind, r.key): (r.shown, r.reason) for r in db.session.scalars(
            sa.select(RoundResult).where(RoundResult.round_id == round_id))}

    assert pattern(answered) == pattern(skipped)
    headers = api_token("hr@example.com")
    for round_id in (answered, skipped):
        body = results(client, headers, round_id, department_id=parent.id)
        company = results(client, headers, round_id)
        # what is shown of Parent and of the company never differs by the head alone
        if not body["suppressed"]:
            assert body["participation"]["invited"] == results(
                client, headers, round_id, department_id=child.id).get("participation", {}).get("invited")
        assert company["participation"]["invited"] == 13


def test_a_move_during_the_round_changes_nothing_in_it(client, factory, db, api_token):
    old = factory.department("Old")
    new = factory.department("New")
    movers = [factory.person(f"m{i}@example.com", department=old) for i in range(6)]
    [factory.person(f"n{i}@example.com", department=new) for i in range(6)]
    factory.person("hr@example.com", role="hr_admin", department=new)
    pulse()
    round_id = tasks.tick(NOW).pulses.opened[0]
    movers[0].department_id = new.id  # moves while the round is open, then answers
    db.session.commit()
    question = building.get_survey(db.session.get(Round, round_id).survey_id).questions[0].id
    for person in movers:
        answering.submit_response(invitations.invitation_for(person, round_id), {question: 6}, NOW + timedelta(hours=1))
    tasks.tick(db.session.get(Round, round_id).closes_at)
    headers = api_token("hr@example.com")
    before = results(client, headers, round_id, department_id=old.id)
    assert before["n"] == 6 and before["participation"] == {"responses": 6, "invited": 6, "rate": 100.0}
    after = results(client, headers, round_id, department_id=new.id)
    assert after["suppressed"] or after["n"] == 0 or after["participation"]["invited"] == 7


def test_recount_after_a_reorganisation_gives_the_same_figures(runner, client, factory, db, nested):
    def rows():
        db.session.expire_all()
        return {(r.kind, r.key): (r.parent_key, r.responses, r.invited, r.shown, r.reason, r.histograms)
                for r in db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == nested["round"]))}

    before = rows()
    nested["lead"].manager_id = None
    nested["lead"].department_id = nested["child"].id
    nested["child"].parent_id = None
    db.session.commit()
    assert runner.invoke(args=["results", "recount"]).exit_code == 0
    assert rows() == before


def test_every_api_answer_and_export_row_matches_the_stored_verdict_for_the_viewer(client, nested, api_token, db):
    headers = api_token("hr@example.com")
    stored = {(r.kind, r.key): r for r in db.session.scalars(
        sa.select(RoundResult).where(RoundResult.round_id == nested["round"]))}
    for (kind, key), row in stored.items():
        if kind == "tenure":
            continue
        scope = {} if kind == "company" else {f"{kind}_id": key}
        body = results(client, headers, nested["round"], **scope)
        assert body["suppressed"] is (not row.shown), (kind, key)
        if row.shown:
            assert body["n"] == row.responses
        else:
            assert set(body) == {"round_id", "suppressed", "reason", "min_group_size"}
    from tests.test_dashboards import login

    login(client, "hr@example.com")
    csv = client.get(f"/results/export.csv?department={nested['parent'].id}").get_data(as_text=True)
    hidden = {dash.labels(kind, [key]).get(key) for (kind, key), row in stored.items()
              if kind in ("department", "manager") and not row.shown}
    for line in csv.splitlines()[1:]:
        cells = line.split(",")
        if any(name and name in cells for name in hidden):
            assert not any(c.strip().lstrip("-").replace(".", "").isdigit() for c in cells[5:]), line


def test_a_recount_only_ever_hides_more_and_never_changes_a_published_figure(runner, db, nested):
    """Results seen before a recount stay valid: a recount that showed other groups, or the same groups
    with other figures, would let a viewer combine old and new results."""
    published = {(r.kind, r.key): (r.shown, r.responses, r.invited, r.histograms) for r in db.session.scalars(
        sa.select(RoundResult).where(RoundResult.round_id == nested["round"]))}
    # as if an older version had hidden every team: a recount must not now reveal one
    db.session.execute(sa.update(RoundResult).where(RoundResult.round_id == nested["round"],
                                                    RoundResult.kind == "manager")
                       .values(shown=False, reason="overlap"))
    # and had shown the Child department with other figures than today's counting gives
    db.session.execute(sa.update(RoundResult).where(RoundResult.round_id == nested["round"],
                                                    RoundResult.kind == "department",
                                                    RoundResult.key == nested["child"].id)
                       .values(responses=RoundResult.responses + 1, shown=True, reason=None))
    db.session.commit()
    assert runner.invoke(args=["results", "recount"]).exit_code == 0
    db.session.expire_all()
    after = {(r.kind, r.key): r for r in db.session.scalars(
        sa.select(RoundResult).where(RoundResult.round_id == nested["round"]))}
    assert not any(row.shown for (kind, _key), row in after.items() if kind == "manager")
    assert not after[("department", nested["child"].id)].shown
    for key, row in after.items():
        if row.shown:
            assert published[key][0] and (row.responses, row.invited) == published[key][1:3]
    assert runner.invoke(args=["anonymity", "audit"]).exit_code == 0
