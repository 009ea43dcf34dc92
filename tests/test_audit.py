"""The audit log: recorded in the caller's transaction, read by HR with filters and a CSV, append-only in the
database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import DBAPIError

import audit
from audit.models import AuditEvent
from audit.services import ACTIONS
from rewards import editing, transitions
from tests import rewards_support as support
from tests.rewards_support import EVIDENCE, NOW, drive, make_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
parties = support.parties  # a fixture


def events(db, action: str | None = None) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def login(client, email):
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302


@pytest.fixture
def hr(factory):
    return factory.person("hr@example.com", name="Hana HR", role="hr_admin", timezone="Europe/Rome")


def read_csv(response) -> list[list[str]]:
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- recording -----------------------------------------------------------------------------

def test_a_record_is_kept_by_the_callers_commit(db, hr):
    audit.record("person.updated", actor=hr, target=("person", 7), summary="Person 7: department changed", now=T0)
    db.session.commit()
    [event] = events(db)
    assert (event.actor_id, event.actor_email, event.action, event.target_type, event.target_id, event.at) == (
        hr.id, "hr@example.com", "person.updated", "person", 7, T0)
    assert event.remote_addr is None  # no request


def test_a_rollback_drops_the_record_with_the_change(db, hr):
    audit.record("person.updated", actor=hr, summary="Person 7: department changed", now=T0)
    db.session.rollback()
    assert events(db) == []


def test_a_model_target_is_logged_by_its_type_and_id(db, hr):
    audit.record("person.updated", actor=hr, target=hr, summary="self", now=T0)
    db.session.commit()
    assert (events(db)[0].target_type, events(db)[0].target_id) == ("person", hr.id)


def test_polso_itself_is_an_actor_without_a_person(db):
    audit.record("round.opened", actor=None, target=("round", 3), summary="Round 3 of survey 1", now=T0)
    db.session.commit()
    assert (events(db)[0].actor_id, events(db)[0].actor_email) == (None, None)


def test_the_request_address_is_recorded(app, db, hr):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        audit.record("person.updated", actor=hr, summary="x", now=T0)
        db.session.commit()
    assert events(db)[0].remote_addr == "203.0.113.9"


def test_an_unknown_action_is_refused(db, hr):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("person.renamed", actor=hr, summary="x", now=T0)


def test_a_summary_is_one_line_and_cut_to_its_length(db, hr):
    audit.record("person.updated", actor=hr, summary="a\nb " + "x" * 600, now=T0)
    db.session.commit()
    summary = events(db)[0].summary
    assert summary.startswith("a b x") and len(summary) == 500 and summary.endswith("…")


def test_every_action_has_a_label():
    assert all(str(label) for label in ACTIONS.values())


# --- the database keeps it append-only ----------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET summary = 'rewritten'",
    "UPDATE audit_events SET actor_email = NULL, actor_id = NULL",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_an_entry(db, hr, statement):
    audit.record("person.updated", actor=hr, summary="original", now=T0)
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert [(e.summary, e.actor_email) for e in events(db)] == [("original", "hr@example.com")]


def test_the_database_refuses_truncate_on_postgresql(db, hr):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    audit.record("person.updated", actor=hr, summary="original", now=T0)
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text("TRUNCATE audit_events"))
    db.session.rollback()
    assert len(events(db)) == 1


@pytest.mark.parametrize("values", [
    {"action": "Person.Updated"}, {"action": "nodot"}, {"actor_email": "HR@example.com"},
    {"actor_email": None}, {"target_type": None, "target_id": 3},
])
def test_the_database_checks_an_entrys_shape(db, hr, values):
    row = {"at": T0, "actor_id": hr.id, "actor_email": "hr@example.com", "action": "person.updated",
           "target_type": "person", "target_id": 1, "summary": "x", **values}
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(AuditEvent).values(**row))
        db.session.flush()
    db.session.rollback()


def test_the_model_matches_the_migration(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "audit_events" in repr(d)] == []


# --- the page ------------------------------------------------------------------------------

@pytest.fixture
def logged(db, hr, factory):
    """Five entries over three days (Rome time) by two people, with a formula-like summary."""
    other = factory.person("ops@example.com", name="Ops")
    rows = [
        (hr, "plan.created", T0, "Plan 1 for rita@example.com"),
        (other, "milestone.approved", T0 + timedelta(hours=1), "Plan 1, milestone 1: submitted → approved"),
        (hr, "milestone.paid", T0 + timedelta(days=1), "=HYPERLINK(\"http://evil.example\",\"x\")"),
        (hr, "export.downloaded", T0 + timedelta(days=2), "payouts CSV"),
        (None, "round.opened", T0 + timedelta(days=2, hours=1), "Round 4 of survey 2"),
    ]
    for actor, action, at, summary in rows:
        audit.record(action, actor=actor, summary=summary, now=at, remote_addr="198.51.100.7")
    db.session.commit()
    return rows


def test_hr_sees_the_log_newest_first(client, hr, logged):
    login(client, hr.email)
    page = client.get("/audit").get_data(as_text=True)
    order = [page.index(s) for s in ("Round 4 of survey 2", "payouts CSV", "Plan 1 for rita")]
    assert order == sorted(order)
    # The five logged above, and HR's own sign-in just now (password sign-ins are audited).
    assert "Opened a round" in page and "198.51.100.7" in page and "6 entries" in page
    assert "Signed in with a password" in page
    assert '<th scope="col">' in page and "<caption" in page and 'for="action"' in page and 'for="actor"' in page


def test_the_log_filters_by_action(client, hr, logged):
    login(client, hr.email)
    page = client.get("/audit?action=milestone.approved").get_data(as_text=True)
    assert "submitted → approved" in page and "Plan 1 for rita" not in page and "1 entry" in page


def test_the_log_filters_by_part_of_the_actors_email(client, hr, logged):
    login(client, hr.email)
    page = client.get("/audit?actor=OPS@").get_data(as_text=True)
    assert "1 entry" in page and "submitted → approved" in page


def test_the_actor_filter_treats_wildcards_as_text(client, hr, logged):
    login(client, hr.email)
    assert "0 entries" in client.get("/audit?actor=%25").get_data(as_text=True)


def test_the_log_filters_by_days_in_the_readers_time_zone(client, hr, logged):
    login(client, hr.email)
    # 2026-03-03 in Rome: the payout at 10:00 Rome time only.
    page = client.get("/audit?from=2026-03-03&to=2026-03-03").get_data(as_text=True)
    assert "1 entry" in page and "HYPERLINK" in page


def test_bad_filters_are_named_and_show_no_rows(client, hr, logged):
    login(client, hr.email)
    response = client.get("/audit?action=nope&from=2026-03-05&to=2026-03-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-error"' in page and 'id="to-error"' in page and 'aria-describedby="to-error"' in page
    assert "Plan 1 for rita" not in page


def test_the_log_is_paginated(app, client, hr, logged):
    app.config["AUDIT_PER_PAGE"] = 2
    login(client, hr.email)
    first = client.get("/audit").get_data(as_text=True)
    third = client.get("/audit?page=3").get_data(as_text=True)
    assert "Round 4 of survey 2" in first and "Plan 1 for rita" not in first
    assert "Plan 1 for rita" in third and "Round 4 of survey 2" not in third
    assert 'href="/audit?page=2"' in first


def test_the_pager_keeps_the_filters(app, client, hr, logged):
    app.config["AUDIT_PER_PAGE"] = 1
    login(client, hr.email)
    page = client.get("/audit?actor=hr%40example.com").get_data(as_text=True)
    assert "actor=hr%40example.com" in page and "page=2" in page


def test_hr_navigation_links_the_log(client, hr, factory):
    login(client, hr.email)
    assert 'href="/audit"' in client.get("/").get_data(as_text=True)
    assert 'href="/audit" aria-current="page">Audit log</a>' in client.get("/audit").get_data(as_text=True)
    employee = factory.person("e@example.com")
    client.post("/logout")
    login(client, employee.email)
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/audit", "/audit.csv"])
def test_only_hr_sees_the_log(client, factory, path):
    assert client.get(path).headers["Location"].startswith("/login")
    manager = factory.person("m@example.com")
    factory.person("r@example.com", manager=manager)
    login(client, manager.email)
    assert client.get(path).status_code == 403


# --- the CSV -------------------------------------------------------------------------------

def test_the_csv_holds_exactly_the_filtered_rows(client, hr, logged):
    login(client, hr.email)
    response = client.get("/audit.csv?actor=hr%40example.com&from=2026-03-02&to=2026-03-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, *rows = read_csv(response)
    assert header[0] == "Time (Europe/Rome)"
    assert [(r[0], r[1], r[2]) for r in rows] == [("2026-03-03 10:00:00", "hr@example.com", "milestone.paid"),
                                                  ("2026-03-02 10:00:00", "hr@example.com", "plan.created")]
    assert 'filename="polso-audit-log-2026-03-02-2026-03-03.csv"' in response.headers["Content-Disposition"]


def test_the_csv_never_holds_a_formula(client, hr, logged):
    login(client, hr.email)
    _header, *rows = read_csv(client.get("/audit.csv?action=milestone.paid"))
    assert rows[0][6] == "'=HYPERLINK(\"http://evil.example\",\"x\")"


def test_downloading_the_csv_is_recorded(db, client, hr, logged):
    login(client, hr.email)
    client.get("/audit.csv?action=milestone.paid")
    [event] = events(db, "export.downloaded")[-1:]
    assert event.actor_id == hr.id and "rows=1" in event.summary and "action=milestone.paid" in event.summary
    assert event.remote_addr == "127.0.0.1"


def test_bad_csv_filters_are_a_422(client, hr):
    login(client, hr.email)
    assert client.get("/audit.csv?from=yesterday").status_code == 422


# --- what is wired so far ------------------------------------------------------------------

def test_creating_a_plan_is_recorded(db, parties):
    plan = make_plan(parties, count=2)
    [event] = events(db, "plan.created")
    assert (event.actor_id, event.target_type, event.target_id, event.at) == (
        parties["hr_admin"].id, "milestone_plan", plan.id, NOW)
    assert event.summary == f"plan {plan.id} for rita@example.com, approver approver@example.com: 2 milestones in EUR"


def test_editing_a_plan_is_recorded(db, parties):
    plan = make_plan(parties)
    first = plan.milestones[0]
    editing.edit_plan(plan.id, {"milestones": [{"id": first.id, "title": "Ship the beta", "criteria": first.criteria,
                                                "amount_minor": first.amount_minor,
                                                "due_on": first.due_on.isoformat()}]}, parties["hr_admin"], NOW)
    [event] = events(db, "plan.edited")
    assert (event.target_type, event.target_id, event.actor_id) == ("milestone_plan", plan.id, parties["hr_admin"].id)


def test_a_plan_sent_back_unchanged_records_nothing(db, parties):
    plan = make_plan(parties)
    first = plan.milestones[0]
    editing.edit_plan(plan.id, {"milestones": [{"id": first.id, "title": first.title, "criteria": first.criteria,
                                                "amount_minor": first.amount_minor,
                                                "due_on": first.due_on.isoformat()}]}, parties["hr_admin"], NOW)
    assert events(db, "plan.edited") == []


def test_every_milestone_transition_is_recorded_with_its_actor(db, parties):
    plan = make_plan(parties)
    milestone_id = plan.milestones[0].id
    drive(parties, milestone_id, "paid")
    got = [(e.action, e.actor_id, e.target_type, e.target_id) for e in events(db) if e.action.startswith("milestone.")]
    assert got == [("milestone.agreed", parties["recipient"].id, "milestone", milestone_id),
                   ("milestone.agreed", parties["approver"].id, "milestone", milestone_id),
                   ("milestone.submitted", parties["recipient"].id, "milestone", milestone_id),
                   ("milestone.approved", parties["approver"].id, "milestone", milestone_id),
                   ("milestone.paid", parties["hr_admin"].id, "milestone", milestone_id)]
    paid = events(db, "milestone.paid")[0]
    assert paid.summary == (f"plan {plan.id}, milestone 1 “Milestone 1”: approved → paid; 1000.00 EUR, "
                            "reference PAY-2026-03")


def test_a_milestone_record_never_holds_the_evidence_or_a_note(db, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "changes_requested")
    text = " ".join(e.summary for e in events(db))
    assert EVIDENCE["note"] not in text and EVIDENCE["evidence_url"] not in text and "last week" not in text
    assert events(db, "milestone.changes_requested")[0].actor_id == parties["approver"].id


def test_cancelling_is_recorded(db, parties):
    plan = make_plan(parties)
    transitions.perform(plan.milestones[0].id, "cancel", parties["hr_admin"], {}, NOW)
    [event] = events(db, "milestone.cancelled")
    assert event.summary.endswith("draft → cancelled")


def test_a_refused_transition_records_nothing(db, parties):
    plan = make_plan(parties)
    before = len(events(db))
    with pytest.raises(transitions.Forbidden):
        transitions.perform(plan.milestones[0].id, "cancel", parties["recipient"], {}, NOW)
    assert len(events(db)) == before


def test_a_milestone_action_from_the_page_records_the_address(db, client, parties):
    plan = make_plan(parties)
    login(client, parties["recipient"].email)
    client.post(f"/rewards/milestones/{plan.milestones[0].id}/agree", data={},
                environ_base={"REMOTE_ADDR": "192.0.2.44"})
    [event] = events(db, "milestone.agreed")
    assert (event.actor_id, event.remote_addr) == (parties["recipient"].id, "192.0.2.44")


def test_downloading_the_payouts_csv_is_recorded(db, client, parties):
    plan = make_plan(parties)
    drive(parties, plan.milestones[0].id, "paid")
    login(client, parties["hr_admin"].email)
    assert client.get("/rewards/payouts.csv?from=2026-01-01").status_code == 200
    [event] = events(db, "export.downloaded")
    assert event.actor_id == parties["hr_admin"].id and event.summary == "payouts CSV: rows=1, from=2026-01-01"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloading_a_results_export_is_recorded(db, client, org, closed, fmt):
    login(client, "boss@example.com")
    assert client.get(f"/results/export.{fmt}", query_string={"team": org["boss"].id}).status_code == 200
    [event] = events(db, "export.downloaded")
    assert (event.actor_id, event.target_type, event.target_id) == (org["boss"].id, "survey", closed["survey"].id)
    assert event.summary.startswith(f"results {fmt.upper()} of survey {closed['survey'].id} “Pulse”: manager ")

