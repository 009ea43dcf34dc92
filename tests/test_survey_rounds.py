"""``pulses tick``: rounds open by cadence, invitations, reminders, closing, e-mail once."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

import tasks
from errors import Conflict, ValidationError
from extensions import db as _db
from mail.models import OutboxMessage
from surveys import answering, building, invitations, periodic, rounds
from surveys.models import Invitation, Round
from tests.conftest import run_concurrently

MONDAY = date(2026, 3, 2)
OPEN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Rome
DURING = OPEN + timedelta(hours=1)


def tick(now, **kwargs):
    """The surveys' periodic work, storing each closed round's results as ``tasks.tick`` does."""
    return periodic.tick(now, on_close=tasks.store_results, **kwargs)


@pytest.fixture
def org(factory):
    company = factory.department("Company")
    sales = factory.department("Sales", company)
    north = factory.department("Sales North", sales)
    ops = factory.department("Operations", company)
    boss = factory.person("boss@example.com", department=company, locale="it")
    return {
        "company": company, "sales": sales, "ops": ops,
        "boss": boss,
        "seller": factory.person("seller@example.com", department=north, manager=boss),
        "ops_person": factory.person("ops@example.com", department=ops, manager=boss),
        "contractor": factory.person("contractor@example.com", kind="contractor", department=sales),
        "inactive": factory.person("gone@example.com", active=False, department=sales),
        "new_hire": factory.person("new@example.com", department=sales, hired_on=date(2026, 3, 3)),
    }


def weekly(**extra):
    return building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "starts_on": MONDAY.isoformat(),
                                   "questions": [{"library_key": "enps", "required": True},
                                                 {"kind": "text", "text": "Anything else?"}], **extra}, OPEN)


def invited_emails(round_id):
    return sorted(i.person.email for i in _db.session.scalars(
        sa.select(Invitation).where(Invitation.round_id == round_id)))


def outbox(kind=None):
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return _db.session.scalars(stmt).all()


def test_tick_before_the_first_opening_does_nothing(db, org):
    weekly()
    report = tick(OPEN - timedelta(minutes=1))
    assert report.opened == [] and db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


def test_tick_opens_the_round_and_invites_active_employees_hired_in_time(db, org):
    weekly()
    report = tick(DURING, send_mail=False)
    assert len(report.opened) == 1
    # never contractors, deactivated people, or people hired after the round opened
    assert invited_emails(report.opened[0]) == ["boss@example.com", "ops@example.com", "seller@example.com"]
    assert sorted(m.to_address for m in outbox("invitation")) == invited_emails(report.opened[0])


def test_sent_invitations_and_reminders_leave_no_row_in_the_outbox(db, org, smtp):
    weekly()
    round_id = tick(DURING).opened[0]
    remind_at = db.session.get(Round, round_id).remind_at
    assert tick(remind_at).reminded == 3
    assert len(smtp.messages) == 6
    db.session.expire_all()
    assert outbox("invitation") == [] and outbox("reminder") == []


def test_audience_is_a_department_subtree(db, org):
    weekly(audience_department_id=org["sales"].id)
    round_id = tick(DURING).opened[0]
    assert invited_emails(round_id) == ["seller@example.com"]


def test_invitation_email_is_in_the_recipients_language_with_a_personal_link(db, org):
    weekly()
    tick(DURING, send_mail=False)
    by_person = {m.to_address: m for m in outbox("invitation")}
    italian, english = by_person["boss@example.com"], by_person["seller@example.com"]
    assert "sondaggio" in italian.subject.lower() and "Weekly pulse" in italian.subject
    assert "pulse survey" in english.subject.lower()
    links = {address: next(w for w in m.body_text.split() if "/s/" in w) for address, m in by_person.items()}
    assert len(set(links.values())) == 3  # one personal link each
    assert all(link.startswith("http://localhost/s/") for link in links.values())


def test_second_tick_at_the_same_time_does_nothing_new(db, org):
    weekly()
    first = tick(DURING, send_mail=False)
    second = tick(DURING, send_mail=False)
    assert second.opened == [] and second.invited == 0 and second.reminded == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 1
    assert len(outbox("invitation")) == first.invited == 3


def test_next_week_opens_the_next_round_after_closing_this_one(db, org):
    weekly()
    first = tick(DURING).opened[0]
    report = tick(OPEN + timedelta(days=7, minutes=5))
    assert report.closed == [first] and len(report.opened) == 1
    assert db.session.get(Round, report.opened[0]).opens_at == OPEN + timedelta(days=7)


def test_round_closes_at_the_end_of_its_window(db, org):
    weekly()
    round_id = tick(DURING).opened[0]
    closes = db.session.get(Round, round_id).closes_at
    assert tick(closes - timedelta(seconds=1)).closed == []
    assert tick(closes).closed == [round_id]
    db.session.expire_all()
    assert db.session.get(Round, round_id).status == "closed"


def test_reminder_goes_once_and_only_to_those_who_have_not_answered(db, org):
    weekly()
    round_id = tick(DURING).opened[0]
    answered = invitations.invitation_for(org["seller"], round_id)
    answering.submit_response(answered, {answered.round.survey.questions[0].id: 9}, DURING)
    remind_at = db.session.get(Round, round_id).remind_at
    assert tick(remind_at - timedelta(minutes=1), send_mail=False).reminded == 0
    assert tick(remind_at, send_mail=False).reminded == 2
    assert tick(remind_at + timedelta(hours=1), send_mail=False).reminded == 0
    assert sorted(m.to_address for m in outbox("reminder")) == ["boss@example.com", "ops@example.com"]


def test_tick_on_the_command_line(runner, db, org):
    weekly()
    result = runner.invoke(args=["pulses", "tick", "--now", "2026-03-02T10:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert "opened 1 round(s), invited 3" in result.output
    assert runner.invoke(args=["pulses", "tick", "--now", "yesterday"]).exit_code == 2
    assert runner.invoke(args=["pulses", "tick", "--now", "2026-03-02T10:00:00"]).exit_code == 2


def test_two_concurrent_ticks_open_one_round_and_send_each_email_once(app, db, org, smtp):
    weekly()
    def run():
        with app.app_context():
            tick(DURING)

    run_concurrently(run, run)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 1
    assert sorted(m["To"] for m in smtp.messages) == ["boss@example.com", "ops@example.com", "seller@example.com"]


def test_a_round_opened_after_its_reminder_time_sends_no_reminder_with_the_invitation(db, org):
    weekly()
    late = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # tick was down from Monday to Thursday noon
    report = tick(late)
    assert report.invited == 3 and report.reminded == 0
    assert tick(late + timedelta(hours=1)).reminded == 0


def test_tick_sends_every_invitation_even_beyond_one_batch(db, factory):
    for i in range(130):
        factory.person(f"p{i}@example.com", password=None)
    weekly()
    report = tick(DURING)
    assert report.invited == 130 and report.mail.sent == 130


# --- Rounds that could be subtracted from each other ------------------------------------------


def _survey(title, **extra):
    return building.create_survey({"title": title, "cadence": "once", "questions": [
        {"library_key": "enps", "required": True}], **extra}, OPEN)


def test_a_round_a_person_apart_from_another_surveys_round_is_refused_naming_it(db, factory, client, api_token):
    team = factory.department("Team")
    target = factory.person("target@example.com", role="hr_admin", department=None)
    for i in range(5):
        factory.person(f"c{i}@example.com", department=team)
    rounds.open_round_now(_survey("Everyone"), DURING)  # the five colleagues and the target
    five = _survey("Team only", audience_department_id=team.id)
    with pytest.raises(Conflict) as refused:
        rounds.open_round_now(five, DURING)
    assert "“Everyone”" in refused.value.message and "differ by 1" in refused.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(Round.survey_id == five.id)) == 0
    response = client.post(f"/api/v1/surveys/{five.id}/rounds", headers=api_token(target.email))
    assert response.status_code == 409 and "Everyone" in response.get_json()["error"]["message"]


def test_a_round_k_or_more_people_apart_opens(db, factory):
    team = factory.department("Team")
    for i in range(5):
        factory.person(f"c{i}@example.com", department=team)
    for i in range(5):
        factory.person(f"o{i}@example.com")
    rounds.open_round_now(_survey("Everyone"), DURING)
    assert rounds.open_round_now(_survey("Team only", audience_department_id=team.id), DURING).invited_count == 5


def test_tick_does_not_open_a_scheduled_round_a_person_apart_and_says_why(db, factory):
    team = factory.department("Team")
    factory.person("lone@example.com")
    for i in range(5):
        factory.person(f"c{i}@example.com", department=team)
    rounds.open_round_now(_survey("Everyone"), DURING)
    weekly(audience_department_id=team.id)
    report = tick(DURING, send_mail=False)
    assert report.opened == [] and "Everyone" in report.refused[0][1]


def test_the_audience_is_locked_once_the_first_round_has_opened(db, org):
    survey = weekly()
    tick(DURING, send_mail=False)
    with pytest.raises(ValidationError) as refused:
        building.update_survey(survey, {"audience_department_id": org["sales"].id}, DURING)
    assert "audience_department_id" in refused.value.fields
