"""The tick's e-mail in bulk: invitations, reminders and results-ready notices rendered once per
language and time zone and written in batches, yet each message exactly what rendering it alone gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime

import tasks
from mail import services as mail
from mail.models import OutboxMessage
from people.models import Person
from surveys import building, links, periodic
from surveys.models import Invitation, InvitationLink, Round

OPEN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ZONES = ("Europe/Rome", "America/New_York", "Asia/Kolkata")
TRICKY = ['Zoë <b>O\'Brien</b> & "Co"', "Ann   Lee", "100% {{ name }} %(name)s", "Łukasz Żółć"]


def tick(now: datetime):
    """The surveys' periodic work as ``tasks.tick`` does it, but keeping the outbox (no sending)."""
    return periodic.tick(now, on_close=tasks.store_results, send_mail=False)


def _people(factory):
    boss = factory.person("boss@example.com", name="Bea <Boss> & Co", locale="it")
    people = [boss]
    for index in range(14):
        people.append(factory.person(
            f"p{index}@example.com", name=TRICKY[index % len(TRICKY)] + f" {index}", manager=boss,
            locale=(None, "en", "it")[index % 3], timezone=ZONES[index % 3]))
    return people


def _survey():
    return building.create_survey({"title": "Pulse <&> “quoted”", "cadence": "weekly", "starts_on": "2026-03-02",
                                   "remind_days_before_close": 2,
                                   "questions": [{"library_key": "enps", "required": True}]}, OPEN)


def _one_by_one(app, person: Person, round_: Round, kind: str, link: str) -> tuple[str, str, str]:
    """What ``queue_invitation_mail`` rendered for one person before it rendered in bulk."""
    locale = person.locale or "en"
    survey = round_.survey
    closes_text = format_datetime(round_.closes_at, "medium", tzinfo=ZoneInfo(person.timezone or survey.timezone),
                                  locale=locale)
    return mail.render(f"survey_{kind}", locale, person=person, survey=survey, link=link,
                       closes_text=closes_text, company=app.config["POLSO_COMPANY_NAME"])


def _check_survey_mail(app, db, round_: Round, kind: str) -> int:
    messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
    for message in messages:
        invitation = db.session.get(Invitation, int(message.dedupe_key.split(":")[1]))
        person = db.session.get(Person, invitation.person_id)
        assert message.to_address == person.email
        link = re.search(r"http://localhost/s/\S+", message.body_text).group(0)
        # The link is the person's own: it opens their invitation, and no one else's.
        assert links.invitation_from_token(link.rsplit("/", 1)[1]).id == invitation.id
        expected = _one_by_one(app, person, round_, kind, link)
        assert (message.subject, message.body_text, message.body_html) == expected
    return len(messages)


def test_invitations_and_reminders_are_what_rendering_each_alone_gives(app, db, factory, caplog):
    people = _people(factory)
    _survey()
    report = tick(OPEN)
    round_ = db.session.get(Round, report.opened[0])
    assert report.invited == len(people)
    assert _check_survey_mail(app, db, round_, "invitation") == len(people)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationLink)) == len(people)
    # Ticking again (a retry, another host) opens nothing and queues nothing.
    assert tick(OPEN + timedelta(minutes=1)).opened == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "invitation")) == len(people)

    reminded = tick(round_.remind_at).reminded
    assert reminded == len(people)
    assert _check_survey_mail(app, db, round_, "reminder") == len(people)
    assert "rendering each message" not in caplog.text  # rendered once per language and time zone


def test_results_ready_notices_are_what_rendering_each_alone_gives(app, db, factory, caplog):
    _people(factory)
    _survey()
    round_id = tick(OPEN).opened[0]
    round_ = db.session.get(Round, round_id)
    tick(round_.closes_at)
    notices = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "results_ready")).all()
    assert [n.to_address for n in notices] == ["boss@example.com"]
    boss = db.session.scalar(sa.select(Person).where(Person.email == "boss@example.com"))
    expected = mail.render("results_ready", boss.locale, person=boss, survey=round_.survey, round_id=round_id)
    assert (notices[0].subject, notices[0].body_text, notices[0].body_html) == expected
    tick(round_.closes_at + timedelta(minutes=5))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "results_ready")) == 1
    assert "rendering each message" not in caplog.text


def test_render_each_renders_in_full_when_a_template_transforms_a_value(app, db, factory, caplog):
    people = _people(factory)
    survey = _survey()

    def context(values):
        person = type("P", (), {"id": values["id"], "name": values["name"]})
        return {"person": person, "survey": survey, "round_id": 1}

    # url_for quotes the team id: a value with a space does not appear in the link as it is.
    recipients = [{"id": f"{p.id} x", "name": p.name} for p in people[:4]]
    rendered = list(mail.render_each("results_ready", "en", context, recipients))
    assert rendered == [mail.render("results_ready", "en", **context(values)) for values in recipients]
    assert "x" in rendered[1][1].split("team=")[1].split()[0]
    assert "rendering each message" in caplog.text


def test_queue_many_keeps_the_outbox_dedupe(app, db):
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    mail.queue("a@example.com", "Old", "Body", kind="test", dedupe_key="bulk:0", now=now)
    db.session.commit()
    messages = [{"to": f"{n}@example.com", "subject": f"Subject\n {n}", "body_text": "Text", "body_html": None,
                 "kind": "test", "dedupe_key": f"bulk:{n}"} for n in range(5)]
    messages.append({"to": "none@example.com", "subject": "No key", "body_text": "Text", "kind": "test",
                     "dedupe_key": None})
    assert mail.queue_many(messages, now=now) == 5  # bulk:0 was there already
    db.session.commit()
    assert mail.queue_many(messages, now=now) == 1  # only the one without a key, again
    db.session.commit()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("bulk:%"))
                              .order_by(OutboxMessage.dedupe_key)).all()
    assert [r.to_address for r in rows] == ["a@example.com", *(f"{n}@example.com" for n in range(1, 5))]
    assert rows[1].subject == "Subject 1" and rows[1].created_at == now and rows[1].next_attempt_at == now
    assert rows[1].attempts == 0 and rows[1].sent_at is None
    assert mail.queued_keys(["bulk:1", "bulk:9"]) == {"bulk:1"}


def test_stored_results_are_what_an_insert_stores(app, db, factory):
    """On PostgreSQL the rows go in by COPY; JSON (None as JSON null) and every column as an INSERT writes them."""
    from dashboards.models import RoundResult
    from dashboards.results import store_round_results

    _people(factory)
    _survey()
    round_id = tick(OPEN).opened[0]
    tick(db.session.get(Round, round_id).closes_at)

    def stored():
        return db.session.execute(sa.text(
            "SELECT kind, key, parent_key, responses, shown, reason, invited, CAST(histograms AS TEXT), "
            "CAST(pairs AS TEXT), CAST(comments AS TEXT), pairs IS NULL, comments IS NULL FROM round_results "
            "WHERE round_id = :r ORDER BY kind, key"), {"r": round_id}).all()

    rows = store_round_results(round_id)
    by_copy = stored()
    assert len(by_copy) == len(rows) > 1 and any(row["pairs"] is None for row in rows)
    db.session.execute(sa.delete(RoundResult).where(RoundResult.round_id == round_id))
    db.session.execute(sa.insert(RoundResult.__table__), rows)
    assert stored() == by_copy
    db.session.rollback()


def test_queue_many_skips_a_key_queued_meanwhile(app, db, monkeypatch):
    """A key another host queued after the look-up (which missed it) is still not queued twice."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    mail.queue("first@example.com", "First", "Body", kind="test", dedupe_key="race:1", now=now)
    db.session.commit()
    monkeypatch.setattr(mail, "queued_keys", lambda keys: set())  # as if it had not been committed yet
    messages = [{"to": f"{n}@example.com", "subject": "S", "body_text": "T", "body_html": "<p>H</p>", "kind": "test",
                 "dedupe_key": f"race:{n}"} for n in range(3)]
    assert mail.queue_many(messages, now=now) == 2
    db.session.commit()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("race:%"))
                              .order_by(OutboxMessage.dedupe_key)).all()
    assert [r.to_address for r in rows] == ["0@example.com", "first@example.com", "2@example.com"]
    assert rows[0].body_html == "<p>H</p>" and rows[0].created_at == now and rows[0].next_attempt_at == now
