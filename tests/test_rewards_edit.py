"""HR corrects a plan's milestones before anyone agrees: through the API and the page, validated as when the
plan is created, each change an event; once the recipient or the approver has agreed, the terms are locked."""

import re
import time

import pytest
import sqlalchemy as sa

from errors import Conflict, Forbidden
from mail.models import OutboxMessage
from rewards import editing, plans, transitions
from rewards.models import Milestone, MilestoneEvent
from tests import rewards_support as support
from tests.conftest import run_concurrently
from tests.rewards_support import NOW, count, drive, make_plan, snapshot
from tests.test_rewards_pages import login, text
from tests.test_rewards_plans import BAD_MILESTONES

parties = support.parties  # a fixture


@pytest.fixture
def hr(api_token, parties):
    return api_token("hr@example.com")


def item(milestone: Milestone, **change) -> dict:
    """A milestone as the API sends it back in an edit, with ``change`` applied."""
    return {"id": milestone.id, "title": milestone.title, "criteria": milestone.criteria,
            "amount_minor": milestone.amount_minor, "due_on": milestone.due_on.isoformat()} | change


def new_item(title: str) -> dict:
    return {"title": title, "criteria": f"{title} done", "amount_minor": 50000, "due_on": "2026-06-30"}


def put(client, plan_id: int, body: dict, headers):
    return client.put(f"/api/v1/milestone-plans/{plan_id}/milestones", json=body, headers=headers)


def terms(db, plan_id: int) -> list[tuple]:
    db.session.expire_all()
    return [tuple(r) for r in db.session.execute(
        sa.select(Milestone.id, Milestone.position, Milestone.title, Milestone.criteria, Milestone.amount_minor,
                  Milestone.due_on, Milestone.state).where(Milestone.plan_id == plan_id).order_by(Milestone.id))]


def events(db, plan_id: int) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        sa.select(MilestoneEvent.milestone_id, MilestoneEvent.action, MilestoneEvent.from_state,
                  MilestoneEvent.to_state, MilestoneEvent.note)
        .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
        .where(Milestone.plan_id == plan_id, MilestoneEvent.action != "create")
        .order_by(MilestoneEvent.id))]


# --- Through the API ---------------------------------------------------------------------------


def test_hr_fixes_a_typo_before_anyone_agrees_and_an_event_records_it(client, db, hr, parties):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    body = {"milestones": [item(first, title="Ship the beta", amount_minor=150000), item(second)],
            "note": "Typo in the title"}
    response = put(client, plan.id, body, hr)
    assert response.status_code == 200, response.get_json()
    milestones = response.get_json()["milestones"]
    assert [(m["id"], m["title"], m["amount"], m["state"]) for m in milestones] == [
        (first.id, "Ship the beta", "1500.00", "draft"), (second.id, "Milestone 2", "2000.00", "draft")]
    assert events(db, plan.id) == [(first.id, "edit", "draft", "draft",
                                    "title: “Milestone 1” → “Ship the beta”; amount: 1000.00 EUR → 1500.00 EUR"
                                    " — Typo in the title")]
    assert response.get_json()["events"][-1]["action"] == "edit"


def test_hr_adds_and_removes_milestones_and_cancelled_ones_keep_their_place(client, db, hr, parties):
    plan = make_plan(parties, count=3)
    first, second, third = plan.milestones
    response = put(client, plan.id, {"milestones": [item(first), item(third), new_item("Launch")]}, hr)
    assert response.status_code == 200, response.get_json()
    added = max(m["id"] for m in response.get_json()["milestones"])
    assert [(m[0], m[1], m[2], m[6]) for m in terms(db, plan.id)] == [
        (first.id, 1, "Milestone 1", "draft"), (second.id, 2, "Milestone 2", "cancelled"),
        (third.id, 3, "Milestone 3", "draft"), (added, 4, "Launch", "draft")]
    assert events(db, plan.id) == [(second.id, "cancel", "draft", "cancelled", None)]
    created = db.session.scalars(sa.select(MilestoneEvent).where(MilestoneEvent.milestone_id == added)).all()
    assert [(e.action, e.from_state, e.to_state, e.actor.email) for e in created] == [
        ("create", None, "draft", "hr@example.com")]
    assert response.get_json()["planned_total"] == 100000 + 300000 + 50000


def test_hr_reorders_milestones(client, db, hr, parties):
    plan = make_plan(parties, count=3)
    first, second, third = plan.milestones
    assert put(client, plan.id, {"milestones": [item(third), item(first), item(second)]}, hr).status_code == 200
    assert [(m[0], m[1]) for m in terms(db, plan.id)] == [(first.id, 2), (second.id, 3), (third.id, 1)]
    assert [e[4] for e in events(db, plan.id)] == ["position: 3 → 1", "position: 1 → 2", "position: 2 → 3"]


def test_sending_the_plan_as_it_is_changes_nothing(client, db, hr, parties):
    plan = make_plan(parties, count=2)
    before = snapshot(db)
    response = put(client, plan.id, {"milestones": [item(m) for m in plan.milestones]}, hr)
    assert response.status_code == 200
    assert snapshot(db) == before


@pytest.mark.parametrize("who", ["recipient", "approver"])
def test_once_either_party_has_agreed_edits_are_refused_and_nothing_changes(client, db, hr, parties, who):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    transitions.perform(second.id, "agree", parties[who], {}, NOW)  # agreeing to one milestone locks the plan
    before, before_terms = snapshot(db), terms(db, plan.id)
    response = put(client, plan.id, {"milestones": [item(first, title="Changed"), item(second)]}, hr)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == (
        "The terms of this plan are locked: the recipient or the approver has already agreed to them. "
        "To change them, cancel the plan and create a new one.")
    assert (snapshot(db), terms(db, plan.id)) == (before, before_terms)


def test_a_plan_whose_milestones_are_all_cancelled_cannot_be_edited(client, db, hr, parties):
    plan = make_plan(parties)
    transitions.perform(plan.milestones[0].id, "cancel", parties["hr_admin"], {}, NOW)
    response = put(client, plan.id, {"milestones": [new_item("Revived")]}, hr)
    assert response.status_code == 409 and "nothing left to edit" in response.get_json()["error"]["message"]
    assert count(db, Milestone) == 1


def test_bad_milestones_are_refused_as_when_creating_and_nothing_changes(client, db, hr, parties):
    plan = make_plan(parties)
    (milestone,) = plan.milestones
    before = terms(db, plan.id)
    for change, field in BAD_MILESTONES:
        response = put(client, plan.id, {"milestones": [item(milestone, **change)]}, hr)
        assert response.status_code == 422, change
        assert field in response.get_json()["error"]["fields"], change
    assert terms(db, plan.id) == before and events(db, plan.id) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"milestones": []}, "milestones"),
    ({"milestones": "all of them"}, "milestones"),
    ({"milestones": [new_item("x")] * 25}, "milestones"),
    ({"milestones": [new_item("x")], "currency": "USD"}, "currency"),
    ({"milestones": [new_item("x")], "note": 7}, "note"),
    ({"milestones": [new_item("x") | {"id": 999999}]}, "milestones.0.id"),
    ({"milestones": [new_item("x") | {"id": "1"}]}, "milestones.0.id"),
    ({"milestones": [new_item("x") | {"id": True}]}, "milestones.0.id"),
])
def test_bad_edits_are_422_naming_the_field(client, db, hr, parties, body, field):
    plan = make_plan(parties)
    before = terms(db, plan.id)
    response = put(client, plan.id, body, hr)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert terms(db, plan.id) == before


def test_milestones_of_another_plan_or_listed_twice_are_refused(client, db, hr, parties):
    plan, other = make_plan(parties), make_plan(parties)
    (milestone,) = plan.milestones
    foreign = put(client, plan.id, {"milestones": [item(other.milestones[0])]}, hr)
    assert foreign.get_json()["error"]["fields"] == {"milestones.0.id": "Not a draft milestone of this plan."}
    twice = put(client, plan.id, {"milestones": [item(milestone), item(milestone)]}, hr)
    assert twice.get_json()["error"]["fields"] == {"milestones.1.id": "This milestone is listed twice."}
    assert events(db, plan.id) == events(db, other.id) == []


def test_only_hr_edits_and_never_their_own_plan(client, db, factory, parties, api_token):
    plan = make_plan(parties)
    body = {"milestones": [item(plan.milestones[0], title="Mine now")]}
    for who in ("recipient", "approver", "outsider"):
        assert put(client, plan.id, body, api_token(parties[who].email)).status_code == 403, who
    other_hr = factory.person("hr2@example.com", role="hr_admin")
    own = plans.create_plan(support.plan_data(recipient="hr@example.com"), other_hr, NOW)
    with pytest.raises(Forbidden, match="your own plan"):
        editing.edit_plan(own.id, {"milestones": [item(own.milestones[0], amount_minor=10**9)]},
                           parties["hr_admin"], NOW)
    assert put(client, 999, body, api_token("hr@example.com")).status_code == 404
    assert events(db, plan.id) == events(db, own.id) == []


def test_an_edit_racing_an_agreement_never_changes_agreed_terms(app, db, parties, api_token, monkeypatch):
    """Both pass their checks before either writes: either the edit is refused (409) or it lands first and
    the agreement is to the new terms; never an edit after an agreement."""
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    hr, rita = api_token("hr@example.com"), api_token("rita@example.com")
    body = {"milestones": [item(first), item(second, title="Renamed meanwhile")]}
    plan_id, first_id, second_id = plan.id, first.id, second.id
    db.session.commit()
    db.session.close()  # release the test's own connection: SQLite would otherwise see it as a reader
    for module, name in ((editing, "check_editable"), (transitions, "_check_state")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, **k: (_f(*a, **k), time.sleep(0.3))[0])

    def request(method, url, json, headers):
        with app.app_context(), app.test_client() as client:
            return client.open(url, method=method, json=json, headers=headers).status_code

    edit, agree = run_concurrently(
        lambda: request("PUT", f"/api/v1/milestone-plans/{plan_id}/milestones", body, hr),
        lambda: request("POST", f"/api/v1/milestones/{first_id}/agree", {}, rita))
    assert agree == 200 and edit in (200, 409)
    actions = [e[1] for e in events(db, plan_id)]
    title = db.session.scalar(sa.select(Milestone.title).where(Milestone.id == second_id))
    if edit == 200:
        assert actions == ["edit", "agree"] and title == "Renamed meanwhile"
    else:
        assert actions == ["agree"] and title == "Milestone 2"


# --- Through the page --------------------------------------------------------------------------


def edit_form(plan, rows: list[dict], **extra) -> dict:
    data = {f"milestones-{i}-{k}": v for i, row in enumerate(rows) for k, v in row.items()}
    return data | extra


def row(milestone: Milestone | None, **change) -> dict:
    if milestone is None:
        return {"milestone_id": "", "title": "", "criteria": "", "amount": "", "due_on": ""} | change
    return {"milestone_id": str(milestone.id), "title": milestone.title, "criteria": milestone.criteria,
            "amount": f"{milestone.amount_minor / 100:,.2f}", "due_on": milestone.due_on.isoformat()} | change


def test_hr_edits_the_milestones_on_the_page(client, db, auth, parties):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    login(auth, "hr@example.com")
    assert "Edit the milestones" in text(client.get(f"/rewards/plans/{plan.id}"))
    page = client.get(f"/rewards/plans/{plan.id}/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="1,000.00"' in html and 'value="Milestone 2"' in html and 'name="milestones-2-title"' in html
    form = edit_form(plan, [row(first, title="Ship the beta", amount="1,250.00"), row(second, remove="y"),
                            row(None, title="Launch", criteria="Live in production", amount="3,000.00",
                                due_on="2026-07-01")], note="Agreed with the team lead")
    response = client.post(f"/rewards/plans/{plan.id}/edit", data=form)
    assert response.status_code == 302 and response.headers["Location"] == f"/rewards/plans/{plan.id}"
    assert [(m[1], m[2], m[4], m[6]) for m in terms(db, plan.id)] == [
        (1, "Ship the beta", 125000, "draft"), (2, "Milestone 2", 200000, "cancelled"),
        (3, "Launch", 300000, "draft")]
    assert [e[1] for e in events(db, plan.id)] == ["cancel", "edit"]
    page = text(client.get(f"/rewards/plans/{plan.id}"))
    assert "The milestones were changed." in page and "Edited the terms" in page


def test_an_italian_hr_admin_sees_and_sends_amounts_in_italian(client, db, auth, parties):
    parties["hr_admin"].locale = "it"
    db.session.commit()
    plan = make_plan(parties)
    (milestone,) = plan.milestones
    login(auth, "hr@example.com")
    assert 'value="1.000,00"' in client.get(f"/rewards/plans/{plan.id}/edit").get_data(as_text=True)
    unchanged = client.post(f"/rewards/plans/{plan.id}/edit", data=edit_form(plan, [row(milestone, amount="1.000,00")]))
    assert unchanged.status_code == 302 and events(db, plan.id) == []
    client.post(f"/rewards/plans/{plan.id}/edit", data=edit_form(plan, [row(milestone, amount="1.234,50")]))
    assert terms(db, plan.id)[0][4] == 123450


def test_page_errors_are_shown_on_the_row_they_belong_to(client, db, auth, parties):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    login(auth, "hr@example.com")
    form = edit_form(plan, [row(first, remove="y"), row(second, amount="12.345", due_on="2026-01-01")])
    response = client.post(f"/rewards/plans/{plan.id}/edit", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="milestones-1-amount-error"' in html and "EUR has 2 digits after the decimal point." in html
    assert 'id="milestones-1-due_on-error"' in html
    assert "The plan was not changed" in html
    added = client.post(f"/rewards/plans/{plan.id}/edit", data=form | {"add_row": "1"})
    assert added.status_code == 200 and 'name="milestones-2-title"' in added.get_data(as_text=True)
    assert events(db, plan.id) == []


def test_the_page_says_the_terms_are_locked_once_someone_agreed(client, db, auth, parties):
    plan = make_plan(parties, count=2)
    first, second = plan.milestones
    login(auth, "hr@example.com")
    form = edit_form(plan, [row(first, title="Too late"), row(second)])
    drive(parties, first.id, "draft_recipient_agreed")
    assert "Edit the milestones" not in text(client.get(f"/rewards/plans/{plan.id}"))
    before = terms(db, plan.id)
    for response in (client.get(f"/rewards/plans/{plan.id}/edit"),
                     client.post(f"/rewards/plans/{plan.id}/edit", data=form)):
        assert response.status_code == 409
        assert "The terms of this plan are locked: the recipient or the approver has already agreed to them." \
            in text(response)
        assert 'name="milestones-0-title"' not in response.get_data(as_text=True)
    assert terms(db, plan.id) == before


def test_service_refusals_are_the_same_for_pages_and_api(db, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "agreed")
    with pytest.raises(Conflict, match="locked"):
        editing.check_editable(plan, parties["hr_admin"])
    with pytest.raises(Forbidden):
        editing.check_editable(plan, parties["approver"])
    assert not editing.can_edit(plan, parties["hr_admin"])


# --- Nobody agrees to terms they did not read ---------------------------------------------------


def test_an_agreement_sent_from_a_page_read_before_an_edit_is_refused(client, db, auth, parties):
    plan = make_plan(parties, count=1)
    login(auth, "rita@example.com")
    html = client.get(f"/rewards/plans/{plan.id}").get_data(as_text=True)
    seen = re.search(r'name="terms_version" value="(\d+)"', html).group(1)
    editing.edit_plan(plan.id, {"milestones": [item(plan.milestones[0], amount_minor=50000)]},
                       parties["hr_admin"], NOW)

    page = text(client.post(f"/rewards/plans/{plan.id}/agree", data={"terms_version": seen}, follow_redirects=True))
    assert "HR changed the terms after you opened them. Read them again, then agree." in page
    assert terms(db, plan.id)[0][6] == "draft" and db.session.get(Milestone, plan.milestones[0].id) \
        .recipient_agreed_at is None

    html = client.get(f"/rewards/plans/{plan.id}").get_data(as_text=True)
    fresh = re.search(r'name="terms_version" value="(\d+)"', html).group(1)
    assert fresh != seen
    page = text(client.post(f"/rewards/plans/{plan.id}/agree", data={"terms_version": fresh}, follow_redirects=True))
    assert "You agreed to the terms of 1 milestones." in page or "You agreed to the terms" in page
    db.session.expire_all()
    assert db.session.get(Milestone, plan.milestones[0].id).recipient_agreed_at is not None


def test_the_api_refuses_an_agreement_to_terms_changed_since_they_were_read(client, db, hr, parties, api_token):
    plan = make_plan(parties, count=1)
    rita = api_token("rita@example.com")
    milestone = plan.milestones[0]
    seen = client.get(f"/api/v1/milestone-plans/{plan.id}", headers=rita).get_json()["terms_version"]
    assert put(client, plan.id, {"milestones": [item(milestone, title="Renamed")]}, hr).status_code == 200

    url = f"/api/v1/milestones/{milestone.id}/agree"
    stale = client.post(url, json={"terms_version": seen}, headers=rita)
    assert stale.status_code == 409 and "changed the terms" in stale.get_json()["error"]["message"]
    bad = client.post(url, json={"terms_version": "latest"}, headers=rita)
    assert bad.status_code == 422 and "terms_version" in bad.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Milestone, milestone.id).recipient_agreed_at is None

    fresh = client.get(f"/api/v1/milestone-plans/{plan.id}", headers=rita).get_json()["terms_version"]
    assert client.post(url, json={"terms_version": fresh}, headers=rita).status_code == 200
    # clients that do not send a version keep working as DESIGN §4 describes
    approver = api_token("approver@example.com")
    assert client.post(url, json={}, headers=approver).get_json()["state"] == "agreed"


def test_an_edit_tells_the_recipient_and_the_approver_in_their_language(db, parties):
    parties["approver"].locale = "it"
    db.session.commit()
    plan = make_plan(parties, count=2)
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    first = plan.milestones[0]
    editing.edit_plan(plan.id, {"milestones": [item(first, title="Ship the beta")]}, parties["hr_admin"], NOW)
    editing.edit_plan(plan.id, {"milestones": [item(first, title="Ship the beta")]}, parties["hr_admin"], NOW)

    sent = {m.to_address: m for m in db.session.scalars(sa.select(OutboxMessage))}
    assert set(sent) == {"rita@example.com", "approver@example.com"}  # once each; the no-op edit sends nothing
    rita = sent["rita@example.com"]
    assert rita.subject == "The terms of a milestone plan changed: please read them again"
    assert "Ship the beta" in rita.body_text and "Milestone 2" not in rita.body_text  # the removed one is gone
    assert "please read them again" not in sent["approver@example.com"].subject  # Italian


@pytest.mark.parametrize("version", ["²", "9" * 5000, -1, 1.5, "abc", True])
def test_a_malformed_terms_version_is_422_naming_it_on_the_api_and_a_message_on_the_page(
        client, db, auth, parties, api_token, version):
    plan = make_plan(parties, count=1)
    response = client.post(f"/api/v1/milestones/{plan.milestones[0].id}/agree", json={"terms_version": version},
                           headers=api_token("rita@example.com"))
    assert response.status_code == 422 and "terms_version" in response.get_json()["error"]["fields"]
    if isinstance(version, str):
        login(auth, "rita@example.com")
        page = client.post(f"/rewards/plans/{plan.id}/agree", data={"terms_version": version}, follow_redirects=True)
        assert page.status_code == 200 and "Must be the terms_version" in text(page)
    db.session.expire_all()
    assert db.session.get(Milestone, plan.milestones[0].id).recipient_agreed_at is None


def test_a_very_long_milestone_id_on_the_edit_page_is_a_field_error(client, db, auth, parties):
    plan = make_plan(parties, count=1)
    login(auth, "hr@example.com")
    form = edit_form(plan, [row(plan.milestones[0])])
    form["milestones-0-milestone_id"] = "9" * 5000
    response = client.post(f"/rewards/plans/{plan.id}/edit", data=form)
    assert response.status_code == 422 and "Not a draft milestone of this plan." in text(response)


def test_an_edit_from_a_form_read_before_another_edit_is_refused_and_sent_back(client, db, auth, parties, hr):
    plan = make_plan(parties, count=1)
    first = plan.milestones[0]
    login(auth, "hr@example.com")
    html = client.get(f"/rewards/plans/{plan.id}/edit").get_data(as_text=True)
    seen = re.search(r'name="terms_version"[^>]*value="(\d+)"', html).group(1)
    assert put(client, plan.id, {"milestones": [item(first, title="Renamed by a colleague")]}, hr).status_code == 200

    form = edit_form(plan, [row(first, title="My older change")])
    form["terms_version"] = seen
    response = client.post(f"/rewards/plans/{plan.id}/edit", data=form, follow_redirects=True)
    assert "Someone changed this plan after you opened it." in text(response)
    assert terms(db, plan.id)[0][2] == "Renamed by a colleague"
    stale = put(client, plan.id, {"milestones": [item(first, title="x")], "terms_version": int(seen)}, hr)
    assert stale.status_code == 409


def test_two_edits_adding_a_milestone_at_once_give_one_change_and_one_409(app, db, parties, api_token):
    plan = make_plan(parties, count=1)
    plan_id = plan.id
    body = {"milestones": [item(plan.milestones[0]), new_item("Added twice")]}
    headers = api_token("hr@example.com")

    def edit():
        with app.app_context(), app.test_client() as client:
            return put(client, plan_id, body, headers).status_code

    db.session.commit()
    db.session.close()  # the test's own connection out of the way, as in test_rewards_concurrency
    statuses = sorted(run_concurrently(edit, edit))
    # never a 500: the second is refused, or (if it came after the first) it replaced the added milestone
    assert statuses in ([200, 200], [200, 409])
    assert [t[2] for t in terms(db, plan_id) if t[6] == "draft"].count("Added twice") == 1
