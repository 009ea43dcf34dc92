"""Two hosts on one database: `pulses tick` run at the same moment by two processes, each with its own
app instance (as two app servers' cron jobs would), opens one round, sends each e-mail once, mixes each
ballot once and stores each round's results once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from dashboards.models import RoundResult
from mail.models import OutboxMessage
from surveys import answering, building, invitations
from surveys.models import Answer, Ballot, Invitation, Response, Round

ROOT = Path(__file__).resolve().parents[1]
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _tick_on_two_hosts(database_uri: str, smtp_port: int, now: datetime) -> list[str]:
    """Start two `flask pulses tick` processes together and wait for both; returns what each printed."""
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "test-secret", "POLSO_ENV": "production",
           "POLSO_BASE_URL": "http://localhost", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
           "MAIL_USE_TLS": "false", "MAIL_DEFAULT_SENDER": "Polso <polso@example.com>"}
    command = [sys.executable, "-m", "flask", "--app", "app", "pulses", "tick", "--now", now.isoformat()]
    hosts = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(2)]
    outputs = []
    for host in hosts:
        output, _ = host.communicate(timeout=180)
        assert host.returncode == 0, output.decode()[-3000:]
        outputs.append(output.decode())
    return outputs


def test_two_hosts_ticking_at_once_open_one_round_and_close_it_once(db, factory, database_uri, smtp):
    team = factory.department("Team")
    boss = factory.person("boss@example.com", department=team, name="Bea Boss")
    people = [boss] + [factory.person(f"p{i}@example.com", department=team, manager=boss) for i in range(11)]
    building.create_survey({"title": "Weekly pulse", "cadence": "weekly", "starts_on": MONDAY.date().isoformat(),
                            "questions": [{"library_key": "enps", "required": True}]}, MONDAY)
    db.session.commit()

    _tick_on_two_hosts(database_uri, smtp.port, MONDAY + timedelta(hours=1))
    db.session.expire_all()
    [round_] = db.session.scalars(sa.select(Round)).all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == len(people)
    invited = sorted(m["To"] for m in smtp.messages)
    assert invited == sorted(p.email for p in people)  # each invitation e-mail once, from one host or the other

    question = round_.survey.questions[0].id
    for person in people:
        answering.submit_response(invitations.invitation_for(person, round_.id), {question: 8},
                                  MONDAY + timedelta(hours=2))
    smtp.messages.clear()
    _tick_on_two_hosts(database_uri, smtp.port, round_.closes_at + timedelta(minutes=1))
    db.session.expire_all()
    assert db.session.get(Round, round_.id).status == "closed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == len(people)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == len(people)
    company = db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == round_.id,
                                                              RoundResult.kind == "company")).all()
    assert len(company) == 1 and company[0].responses == len(people)
    # "Your team's results are ready": once, to the one manager, whichever host sent it.
    ready = [m["To"] for m in smtp.messages if "results" in m["Subject"].lower()]
    assert ready == ["boss@example.com"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "results_ready")) <= 1
