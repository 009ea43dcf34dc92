"""Invitations travel through a real SMTP server, and survive an outage."""

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

import tasks
from mail.models import OutboxMessage
from people.models import Person
from surveys import answering, building, invitations, periodic, rounds
from tests.conftest import free_port

OPEN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def tick(now, **kwargs):
    """The surveys' periodic work, storing each closed round's results as ``tasks.tick`` does."""
    return periodic.tick(now, on_close=tasks.store_results, **kwargs)


def make_weekly(factory):
    factory.person("ada@example.com", name="Ada", locale="it")
    factory.person("bob@example.com", name="Bob", locale="en")
    return building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                   "questions": [{"library_key": "enps", "required": True}]}, OPEN)


def test_invitation_arrives_over_smtp_and_its_link_opens_the_survey(app, client, db, factory, smtp):
    survey = make_weekly(factory)
    now = datetime.now(UTC)  # the page checks the link against the real clock
    rounds.open_round_now(survey, now)
    tick(now)
    by_recipient = {m["To"]: m for m in smtp.messages}
    assert set(by_recipient) == {"ada@example.com", "bob@example.com"}
    italian = by_recipient["ada@example.com"]
    assert "sondaggio" in italian["Subject"]
    text = italian.get_body(("plain",)).get_content()
    html = italian.get_body(("html",)).get_content()
    link = re.search(r"http://localhost/s/\S+", text).group(0)
    assert link in html
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert "Weekly pulse" in page.get_data(as_text=True)


def test_smtp_outage_keeps_invitations_queued_until_the_next_tick_after_recovery(app, db, factory, smtp):
    make_weekly(factory)
    app.config["MAIL_PORT"] = free_port()  # nothing listens here: the server is "down"
    report = tick(OPEN + timedelta(minutes=1))
    assert report.invited == 2 and report.mail.sent == 0
    queued = db.session.scalars(sa.select(OutboxMessage)).all()
    assert len(queued) == 2 and all(m.sent_at is None and m.attempts == 1 for m in queued)
    assert smtp.messages == []

    app.config["MAIL_PORT"] = smtp.port  # back up
    later = OPEN + timedelta(minutes=30)
    report = tick(later)
    assert report.opened == [] and report.mail.sent == 2
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]
    tick(later + timedelta(minutes=5))
    assert len(smtp.messages) == 2  # nothing sent twice


def test_reminder_email_is_not_sent_to_someone_who_answered(app, db, factory, smtp):
    survey = make_weekly(factory)
    round_id = tick(OPEN + timedelta(minutes=1)).opened[0]
    ada = db.session.scalar(sa.select(Person).where(Person.email == "ada@example.com"))
    invitation = invitations.invitation_for(ada, round_id)
    answering.submit_response(invitation, {survey.questions[0].id: 10}, OPEN + timedelta(hours=2))
    remind_at = building.recent_rounds(survey)[0].remind_at
    assert remind_at.date() == date(2026, 3, 5)
    smtp.envelopes.clear()
    tick(remind_at)
    assert [m["To"] for m in smtp.messages] == ["bob@example.com"]
