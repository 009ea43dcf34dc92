"""The CLI contract of DESIGN.md §4: users create, demo seed, pulses tick."""

import sqlalchemy as sa

from app import create_app
from people.models import Department, Person
from surveys.models import Answer, Invitation, Question, Response, Round


def test_users_create_makes_a_person_who_can_sign_in(runner, db, auth):
    result = runner.invoke(args=["users", "create", "--email", "New@Example.com", "--name", "New HR",
                                 "--role", "hr_admin", "--password", "s3cret-pass", "--department", "People"])
    assert result.exit_code == 0, result.output
    person = db.session.scalar(sa.select(Person).where(Person.email == "new@example.com"))
    assert person.role == "hr_admin" and person.department.name == "People"
    assert auth.login("new@example.com", "s3cret-pass").status_code == 302


def test_users_create_with_manager(runner, db, factory):
    factory.person("boss@example.com")
    result = runner.invoke(args=["users", "create", "--email", "e@example.com", "--name", "E", "--role", "employee",
                                 "--manager", "boss@example.com"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Person).where(Person.email == "e@example.com")).manager.email == \
        "boss@example.com"


def test_users_create_refuses_bad_input_and_stores_nothing(runner, db, factory):
    factory.person("taken@example.com")
    cases = [
        (["--email", "taken@example.com", "--name", "X", "--role", "employee"], "email"),
        (["--email", "bad", "--name", "X", "--role", "employee"], "email"),
        (["--email", "x@example.com", "--name", "X", "--role", "employee", "--manager", "ghost@example.com"],
         "manager_email"),
        (["--email", "x@example.com", "--name", "X", "--role", "employee", "--password", "short"], "password"),
    ]
    for args, field in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code == 1
        assert f"{field}:" in result.output
    result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--name", "X", "--role", "boss"])
    assert result.exit_code == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def _dump(db):
    people = db.session.execute(sa.select(Person.email, Person.name, Person.role, Person.kind, Person.hired_on,
                                          Person.locale, Person.manager_id, Person.department_id)
                                .order_by(Person.id)).all()
    departments = db.session.execute(sa.select(Department.id, Department.name, Department.parent_id)
                                     .order_by(Department.id)).all()
    return people, departments


def test_demo_seed_builds_a_realistic_organisation(runner, db):
    result = runner.invoke(args=["demo", "seed", "--employees", "400", "--weeks", "0", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "hr@polso.example" in result.output
    people = db.session.scalars(sa.select(Person)).all()
    assert len(people) == 400
    assert {p.role for p in people} == {"employee", "hr_admin"}
    assert any(p.kind == "contractor" for p in people)
    assert sum(p.manager_id is None for p in people) == 1  # one chief executive
    by_id = {p.id: p for p in people}
    for person in people:  # no cycles: every chain ends at the top
        seen, current = set(), person
        while current.manager_id is not None:
            assert current.id not in seen
            seen.add(current.id)
            current = by_id[current.manager_id]
    team_sizes = {}
    for p in people:
        team_sizes[p.department_id] = team_sizes.get(p.department_id, 0) + 1
    assert any(2 <= size <= 4 for size in team_sizes.values()), "some small teams"
    assert any(size >= 10 for size in team_sizes.values()), "some large teams"
    manager = db.session.scalar(sa.select(Person).where(Person.email == "manager@polso.example"))
    assert manager.is_manager


def _survey_dump(db):
    """Answers by week, question position, kind and value: the whole survey history, without ids."""
    week = sa.func.dense_rank().over(order_by=Round.opens_at)
    rows = db.session.execute(
        sa.select(week.label("week"), Question.position, Answer.kind, Answer.value_int, Answer.value_text,
                  Response.tenure_band)
        .join(Response, Response.id == Answer.response_id).join(Round, Round.id == Response.round_id)
        .join(Question, Question.id == Answer.question_id)).all()
    return sorted(rows, key=repr)


def test_demo_seed_is_reproducible(app, runner, db, new_database, app_config):
    args = ["demo", "seed", "--employees", "150", "--weeks", "3", "--seed", "3"]
    assert runner.invoke(args=args).exit_code == 0
    first, first_answers = _dump(db), _survey_dump(db)
    assert len(first_answers) > 150
    other = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": new_database()})
    with other.app_context():
        assert other.test_cli_runner().invoke(args=args).exit_code == 0
        second, second_answers = _dump(db), _survey_dump(db)
        db.session.remove()
        db.engine.dispose()
    # ids may differ between databases; compare everything else by position
    assert [row[:6] for row in first[0]] == [row[:6] for row in second[0]]
    assert [row[1] for row in first[1]] == [row[1] for row in second[1]]
    assert second_answers == first_answers


def test_demo_seed_builds_a_pulse_history_with_about_70_percent_participation(runner, db):
    assert runner.invoke(args=["demo", "seed", "--employees", "300", "--weeks", "4", "--seed", "5"]).exit_code == 0
    rounds = db.session.scalars(sa.select(Round).order_by(Round.opens_at)).all()
    assert len(rounds) == 4 and all(r.status == "closed" for r in rounds)
    invited = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation))
    answered = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(Invitation.answered))
    responses = db.session.scalar(sa.select(sa.func.count()).select_from(Response))
    assert answered == responses
    assert 0.6 <= responses / invited <= 0.8
    kinds = dict(db.session.execute(sa.select(Answer.kind, sa.func.count()).group_by(Answer.kind)).all())
    assert kinds["enps"] == responses and kinds["likert"] > 3 * responses and kinds.get("text", 0) > 0
    contractors = sa.select(Person.id).where(Person.kind == "contractor")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)
                             .where(Invitation.person_id.in_(contractors))) == 0


def test_demo_seed_if_empty_leaves_existing_data_alone(runner, db, factory):
    factory.person("only@example.com")
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0
    assert "not seeding" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_demo_seed_refuses_a_database_with_people(runner, factory):
    factory.person("only@example.com")
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 1


def test_pulses_tick_runs_all_periodic_work_and_its_help_says_so(runner, db):
    result = runner.invoke(args=["pulses", "tick", "--now", "2026-03-02T10:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2026-03-02T09:00:00+00:00: opened 0 round(s)")
    assert "e-mail sent 0, failed 0." in result.output
    group = runner.invoke(args=["pulses", "--help"]).output
    assert all(work in group for work in ("survey rounds", "one-on-one", "reward", "e-mail", "housekeeping"))
    assert runner.invoke(args=["pulses", "tick", "--now", "2026-03-02T10:00:00"]).exit_code == 2
