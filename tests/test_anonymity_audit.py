"""``flask anonymity audit`` passes on a demo organisation and fails, naming the check, on each corruption."""

import uuid

import pytest
import sqlalchemy as sa

from dashboards.models import RoundResult
from mail.models import OutboxMessage
from people.models import Department, Person
from surveys.ballots import seal
from surveys.models import Ballot, Response, Round


@pytest.fixture
def demo(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "80", "--weeks", "3", "--seed", "2"])
    assert result.exit_code == 0, result.output
    return db


def audit(runner):
    result = runner.invoke(args=["anonymity", "audit"])
    lines = {line.split(":")[0][5:]: line for line in result.output.splitlines() if line[:4] in ("ok  ", "FAIL")}
    return result, lines


def failed(runner) -> set[str]:
    result, lines = audit(runner)
    names = {name for name, line in lines.items() if line.startswith("FAIL")}
    assert (result.exit_code == 1) == bool(names), result.output
    return names


def test_audit_passes_on_a_fresh_demo_organisation_with_one_line_per_check(runner, demo):
    result, lines = audit(runner)
    assert result.exit_code == 0, result.output
    assert set(lines) == {"ballot box", "response store", "segments", "outbox", "transaction ids", "stored results"}
    assert all(line.startswith("ok  ") for line in lines.values())
    assert "6 of 6 checks passed." in result.output


def _closed_round(db) -> Round:
    return db.session.scalar(sa.select(Round).where(Round.status == "closed").order_by(Round.id))


def test_audit_fails_on_a_ballot_left_for_a_closed_round(runner, demo):
    round_id = _closed_round(demo).id
    demo.session.add(Ballot(id=uuid.uuid4(), round_id=round_id, sealed=seal(round_id, [None, None, None, []])))
    demo.session.commit()
    assert failed(runner) == {"ballot box"}


def test_audit_fails_on_a_time_column_in_the_response_store(runner, demo):
    demo.session.execute(sa.text("ALTER TABLE responses ADD COLUMN submitted_at TIMESTAMP"))
    demo.session.commit()
    assert failed(runner) == {"response store"}


def test_audit_fails_on_a_segment_that_fewer_than_k_share(runner, demo):
    lonely = Department(name="Lonely", name_key="lonely")
    demo.session.add(lonely)
    demo.session.flush()
    response = demo.session.scalar(sa.select(Response).where(Response.round_id == _closed_round(demo).id).limit(1))
    response.department_id = lonely.id
    demo.session.commit()
    assert "segments" in failed(runner)


def test_audit_fails_on_a_sent_invitation_kept_in_the_outbox(runner, demo):
    person = demo.session.scalar(sa.select(Person).limit(1))
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    demo.session.add(OutboxMessage(to_address=person.email, subject="Pulse", body_text="http://x/s/" + "a" * 43,
                                   kind="reminder", created_at=now, sent_at=now, attempts=1))
    demo.session.commit()
    assert failed(runner) == {"outbox"}


def test_audit_fails_on_a_refused_invitation_that_keeps_its_link(runner, demo):
    from datetime import UTC, datetime

    demo.session.add(OutboxMessage(to_address="gone@example.com", subject="Pulse",
                                   body_text="Answer: http://x/s/" + "b" * 43, kind="invitation",
                                   created_at=datetime.now(UTC), attempts=1, next_attempt_at=None))
    demo.session.commit()
    assert failed(runner) == {"outbox"}


def test_audit_fails_on_a_response_written_with_a_person(runner, demo):
    if demo.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL keeps transaction ids in rows")
    round_ = _closed_round(demo)
    demo.session.execute(sa.update(Person).where(Person.id == sa.select(sa.func.min(Person.id)).scalar_subquery())
                         .values(name=Person.name))
    demo.session.add(Response(id=uuid.uuid4(), round_id=round_.id))
    demo.session.commit()
    assert "transaction ids" in failed(runner)


def test_audit_fails_on_a_stored_result_the_guard_would_not_show(runner, demo):
    row = demo.session.scalar(sa.select(RoundResult).where(
        RoundResult.shown.is_(False), RoundResult.responses > 0, RoundResult.responses < 5).limit(1))
    assert row is not None
    row.shown, row.reason = True, None
    demo.session.commit()
    assert failed(runner) == {"stored results"}


def test_audit_fails_on_stored_counts_that_do_not_match_the_answers(runner, demo):
    row = demo.session.scalar(sa.select(RoundResult).where(RoundResult.kind == "company").limit(1))
    row.responses += 1
    demo.session.commit()
    assert failed(runner) == {"stored results"}
