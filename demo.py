"""``flask demo seed``: a reproducible demo organisation.

The same ``--seed`` always gives the same data. Rows are bulk-inserted, not
built one ORM object at a time, so 10,000 people take seconds.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from actions import demo as actions_demo
from extensions import db
from oneonones import demo as oneonones_demo
from people import org
from people.models import Department, Person
from replies import demo as replies_demo
from rewards import demo as rewards_demo

demo_cli = AppGroup("demo", help="Demo data.")

DEMO_PASSWORD = "polso-demo"
DEMO_LOGINS = (
    ("hr@polso.example", "HR administrator"),
    ("manager@polso.example", "Manager of a team"),
    ("employee@polso.example", "Employee"),
)

FIRST_NAMES = ("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo",
               "Elena", "Davide", "Martina", "Andrea", "Valentina", "Simone", "Laura", "Federico",
               "Anna", "Lorenzo", "Paola", "Stefano", "Emma", "Oliver", "Amelia", "James", "Sofia",
               "Noah", "Isabella", "Liam", "Aisha", "Omar", "Mei", "Ravi", "Fatima", "Jonas", "Ines")
LAST_NAMES = ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
              "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Costa", "Giordano", "Mancini",
              "Rizzo", "Lombardi", "Moretti", "Smith", "Jones", "Taylor", "Brown", "Khan", "Chen",
              "Patel", "Garcia", "Müller", "Novak", "Silva", "Okafor", "Dubois", "Nielsen")
DIVISIONS = (("Engineering", 0.34), ("Sales", 0.16), ("Operations", 0.16), ("Customer Success", 0.12),
             ("Marketing", 0.08), ("Finance", 0.07), ("People & Culture", 0.07))
TEAM_NAMES = ("Platform", "Mobile", "Data", "Payments", "Search", "Security", "Growth", "Billing",
              "North", "South", "East", "West", "Enterprise", "Partners", "Logistics", "Quality",
              "Support", "Onboarding", "Brand", "Content", "Payroll", "Audit", "Talent", "Learning")


@dataclass
class DemoOrg:
    departments: list[dict] = field(default_factory=list)  # name, parent (name or None)
    people: list[dict] = field(default_factory=list)  # person columns + "manager" email + "department" name


def build_org(employees: int, seed: int, today: date) -> DemoOrg:
    """Plan the demo organisation in memory; pure, so the same seed gives the same plan."""
    rng = random.Random(seed)
    org = DemoOrg()
    used_emails: set[str] = set()

    def person(dept: str, manager: str | None, *, email: str | None = None, name: str | None = None,
               role: str = "employee", kind: str = "employee") -> str:
        if name is None:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if email is None:
            base = name.lower().replace(" ", ".").replace("ü", "u").replace("'", "")
            email, n = f"{base}@polso.example", 1
            while email in used_emails:
                n += 1
                email = f"{base}{n}@polso.example"
        used_emails.add(email)
        org.people.append({
            "email": email, "name": name, "department": dept, "manager": manager, "role": role,
            "kind": kind, "active": True,
            "hired_on": today - timedelta(days=rng.randint(30, 6 * 365)),
            "locale": rng.choice(("it", "it", "en")), "timezone": "Europe/Rome",
        })
        return email

    company = current_app.config["POLSO_COMPANY_NAME"]
    org.departments.append({"name": company, "parent": None})
    ceo = person(company, None, name="Alessandra Verdi")
    remaining = max(employees - 1, 0)
    shares = [max(2, round(remaining * w)) for _, w in DIVISIONS]
    shares[0] += remaining - sum(shares)
    team_counter = 0
    for (division, _weight), share in zip(DIVISIONS, shares, strict=True):
        if share <= 0:
            continue
        org.departments.append({"name": division, "parent": company})
        head = person(division, ceo)
        left = share - 1
        if division == "People & Culture":
            person(division, head, email="hr@polso.example", name="Helena Rinaldi", role="hr_admin")
            left -= 1
        demo_team_done = False
        while left > 0:
            size = rng.choice((2, 3, 4)) if rng.random() < 0.25 else rng.randint(5, 14)
            size = min(size, left - 1) if left > 1 else 0
            team_counter += 1
            team = f"{division} · {TEAM_NAMES[team_counter % len(TEAM_NAMES)]} {team_counter}"
            org.departments.append({"name": team, "parent": division})
            demo_team = division == "Engineering" and not demo_team_done and size >= 6
            # Leads sit in their division: a team's department then holds exactly the people the lead
            # manages, so the team's results and the department's can both be shown (were the lead in
            # the team's department, the two would differ by the lead's own answer and one must hide).
            lead = person(division, head, email="manager@polso.example" if demo_team else None,
                          name="Marta Galli" if demo_team else None)
            for i in range(size):
                kind = "contractor" if rng.random() < 0.03 else "employee"
                if demo_team and i == 0:
                    person(team, lead, email="employee@polso.example", name="Enzo Fontana")
                else:
                    person(team, lead, kind=kind)
            demo_team_done = demo_team_done or demo_team
            left -= size + 1
    return org


def write_org(org: DemoOrg) -> None:
    """Insert the planned organisation in a few bulk statements."""
    parents: dict[str, str | None] = {}
    for dept in org.departments:
        parents[dept["name"]] = dept["parent"]
    db.session.execute(sa.insert(Department), [
        {"name": d["name"], "name_key": d["name"].lower()} for d in org.departments])
    dept_ids = dict(db.session.execute(sa.select(Department.name, Department.id)).all())
    db.session.execute(sa.update(Department), [
        {"id": dept_ids[name], "parent_id": dept_ids[parent]} for name, parent in parents.items() if parent])
    password_hash = generate_password_hash(DEMO_PASSWORD)
    logins = {email for email, _ in DEMO_LOGINS}
    db.session.execute(sa.insert(Person), [{
        **{k: v for k, v in p.items() if k not in ("department", "manager")},
        "department_id": dept_ids[p["department"]],
        "password_hash": password_hash if p["email"] in logins else None,
    } for p in org.people])
    ids = dict(db.session.execute(sa.select(Person.email, Person.id)).all())
    db.session.execute(sa.update(Person), [
        {"id": ids[p["email"]], "manager_id": ids[p["manager"]]} for p in org.people if p["manager"]])


# --- A weekly pulse with a history of closed rounds ------------------------------------

PULSE_QUESTIONS = ("enps", "recognition_valued", "growth_learning", "manager_support_feedback",
                   "workload_manageable")
COMMENTS = (
    "More clarity on priorities would help.", "Great team, too many meetings.",
    "I would like more time for learning.", "The new tools made my week easier.",
    "Workload was heavy before the release.", "Thanks for the flexible hours.",
    "Più chiarezza sugli obiettivi, per favore.", "Il team è fantastico.",
    "Vorrei più occasioni di formazione.", "Troppe riunioni questa settimana.",
)
# Each division's mood and how it drifts per week, so departments differ and move over time.
DIVISION_MOOD = {"Engineering": (0.35, 0.004), "Sales": (-0.15, 0.012), "Operations": (-0.35, -0.006),
                 "Customer Success": (0.05, 0.0), "Marketing": (0.25, -0.01), "Finance": (0.0, 0.003),
                 "People & Culture": (0.45, 0.0)}


RESULT_COLUMNS = ["round_id", "kind", "key", "parent_key", "responses", "shown", "reason", "invited", "histograms",
                  "pairs", "comments"]
JSON_COLUMNS = {"histograms", "pairs", "comments"}


def bulk_insert(table: sa.Table, columns: list[str], rows: list[tuple]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, the driver's executemany on SQLite."""
    if not rows:
        return
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        raw.cursor().executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)


def seed_pulse(weeks: int, seed: int, today: date) -> dict:
    """A weekly pulse (eNPS, four Likert drivers, a comment) with ``weeks`` closed rounds.

    About 70 % of the invited answer; each division has its own mood and drift.
    Returns counts of what was written.
    """
    from dashboards.models import RoundResult
    from dashboards.results import RoundTally, question_sizes
    from surveys import building, membership, schedule
    from surveys.models import Answer, Invitation, Response, Round

    rng = random.Random(seed * 7919 + 1)
    monday = today - timedelta(days=today.weekday())
    starts_on = monday - timedelta(weeks=weeks)
    survey = building.create_survey({
        "title": "Weekly pulse", "cadence": "weekly", "starts_on": starts_on.isoformat(),
        "questions": [{"library_key": key, "required": key == "enps"} for key in PULSE_QUESTIONS]
        + [{"kind": "text", "text": "Anything you would like to add?",
            "text_it": "Vuoi aggiungere qualcosa?"}]}, datetime.now(UTC))
    questions = survey.questions
    departments = org.department_parents()
    names = org.department_names()

    def division(dept_id: int) -> str:
        return names[org.ancestor_at(departments, dept_id, 1)]

    people = db.session.execute(sa.select(Person.id, Person.department_id, Person.manager_id, Person.hired_on)
                                .where(Person.active, Person.kind == "employee").order_by(Person.id)).all()
    # Sorted, so the same seed gives the same data on every database.
    team_mood = {d: rng.gauss(0, 0.25) for d in sorted(departments)}
    team_turnout = {d: min(0.95, max(0.4, rng.gauss(0.7, 0.1))) for d in sorted(departments)}
    person_mood = {p.id: rng.gauss(0, 0.5) for p in people}

    counts = {"rounds": 0, "invitations": 0, "responses": 0, "answers": 0}
    trees = membership.org_trees()
    snapshot = membership.trees_to_json(trees)
    round_rows = []
    for index in range(weeks):
        opens, closes, remind = schedule.window(survey, schedule.occurrence(survey, index))
        round_rows.append({"survey_id": survey.id, "opens_at": opens, "closes_at": closes, "remind_at": remind,
                           "status": "closed", "invited_count": 0, "reminders_queued": True,
                           "snapshot": snapshot})
    if round_rows:
        db.session.execute(sa.insert(Round), round_rows)
    rounds = db.session.execute(sa.select(Round.id, Round.opens_at).where(Round.survey_id == survey.id)
                                .order_by(Round.opens_at)).all()
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    invited_counts = []
    likert_ids = [q.id for q in questions[1:5]]
    # Keys and row order come from the system's randomness, not the seed: the seeded data is the same
    # every time, but nothing about how it is stored follows the order people were drawn in.
    system = secrets.SystemRandom()
    for week, (round_id, opens_at) in enumerate(rounds):
        opened_on = opens_at.date()
        invited = [p for p in people if p.hired_on is None or p.hired_on <= opened_on]
        cells = membership.cells(invited, opened_on, trees, survey.min_group_size)
        invitations, ballots = [], []
        # Counted here as they are drawn: re-reading 6,000 responses a round would double the seed time.
        tally = RoundTally(question_sizes(round_id))
        invited_by_segment: Counter = Counter()
        # Counted first, handed to the tally once per distinct key: a tenth of the calls.
        responded: Counter = Counter()
        answer_counts: Counter = Counter()
        paired: Counter = Counter()
        for person in invited:
            segment = cells[person.id]
            answered = rng.random() < team_turnout[person.department_id]
            invitations.append((round_id, person.id, answered, *segment))
            invited_by_segment[segment] += 1
            if not answered:
                continue
            base, drift = DIVISION_MOOD.get(division(person.department_id), (0.0, 0.0))
            mood = base + drift * week + team_mood[person.department_id] + person_mood[person.id] \
                + rng.gauss(0, 0.35)
            responded[segment] += 1
            enps = min(10, max(0, round(7.4 + 2.6 * mood + rng.gauss(0, 0.9))))
            values = [(questions[0].id, "enps", enps, None)]
            answer_counts[(*segment, questions[0].id, enps)] += 1
            for question_id in likert_ids:
                if rng.random() < 0.97:
                    value = min(5, max(1, round(3.6 + 1.1 * mood + rng.gauss(0, 0.7))))
                    values.append((question_id, "likert", value, None))
                    answer_counts[(*segment, question_id, value)] += 1
                    paired[(question_id, value, enps)] += 1
            if rng.random() < 0.12:
                comment = rng.choice(COMMENTS)
                values.append((questions[5].id, "text", None, comment))
                tally.add_comment(comment)
            ballots.append((segment, values))
        # As the ballot box would: one batch with fresh random keys, written in key order, which is
        # random to whoever answered (and on SQLite the order of the table itself: B-tree inserts in
        # order are the fast ones).
        system.shuffle(ballots)
        keyed = sorted(((uuid.uuid4(), segment, values) for segment, values in ballots), key=lambda t: t[0].hex)
        responses, answers = [], []
        for key, segment, values in keyed:
            response_key = key.hex if sqlite else key
            responses.append((response_key, round_id, *segment))
            answers.extend((response_key, *value) for value in values)  # values are in question order
        bulk_insert(Invitation.__table__, ["round_id", "person_id", "answered", "cell_department_id",
                                           "cell_manager_id", "cell_tenure_band"], invitations)
        # Answers are written in a transaction of their own, as mixing does: on PostgreSQL rows written
        # together share a transaction id, which would tie the responses to the invitations.
        db.session.commit()
        bulk_insert(Response.__table__, ["id", "round_id", "department_id", "manager_id", "tenure_band"], responses)
        bulk_insert(Answer.__table__, ["response_id", "question_id", "kind", "value_int", "value_text"], answers)
        for segment, count in invited_by_segment.items():
            tally.add_invited(*segment, count)
        for segment, count in responded.items():
            tally.add_responses(*segment, count)
        for (*segment, question_id, value), count in answer_counts.items():
            tally.add_answer(*segment, question_id, value, count)
        for (question_id, value, enps), count in paired.items():
            tally.add_pair(question_id, value, enps, count)
        result_rows = tally.rows(round_id, trees, survey.min_group_size)
        bulk_insert(RoundResult.__table__, RESULT_COLUMNS, [
            tuple(json.dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None else row[c] for c in RESULT_COLUMNS)
            for row in result_rows])
        db.session.commit()
        invited_counts.append({"id": round_id, "invited_count": len(invitations)})
        counts["invitations"] += len(invitations)
        counts["responses"] += len(responses)
        counts["answers"] += len(answers)
    if invited_counts:
        db.session.execute(sa.update(Round), invited_counts)

    counts["rounds"] = len(rounds)
    return counts


def print_logins() -> None:
    base = current_app.config["POLSO_BASE_URL"]
    click.echo(f"\nPolso is at {base}\nDemo logins (password: {DEMO_PASSWORD}):")
    for email, label in DEMO_LOGINS:
        click.echo(f"  {label:<20} {email}")


@demo_cli.command("seed")
@click.option("--employees", default=300, show_default=True, type=click.IntRange(min=20))
@click.option("--weeks", default=12, show_default=True, type=click.IntRange(min=0, max=520))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has people.")
def seed(employees: int, weeks: int, seed: int, if_empty: bool):
    """Seed a demo organisation (reproducible: the same seed gives the same data)."""
    has_people = db.session.scalar(sa.select(sa.func.count()).select_from(Person)) > 0
    if has_people:
        if if_empty:
            click.echo("The database already has people; not seeding.")
            print_logins()
            return
        raise click.ClickException("The database already has people; seed an empty database.")
    started = time.perf_counter()
    today = date.today()
    if db.session.get_bind().dialect.name == "sqlite":
        # Answers are keyed by random ids (WITHOUT ROWID): inserts land all over the B-tree, and a
        # larger page cache than the default 2 MB keeps them from going to disk each time.
        db.session.execute(sa.text("PRAGMA cache_size = -262144"))
        # A demo database is rebuilt rather than recovered: no need to wait for the disk at each commit.
        db.session.execute(sa.text("PRAGMA synchronous = OFF"))
    org = build_org(employees, seed, today)
    try:
        # Several transactions, so that no answer shares one with a row naming a person (see seed_pulse).
        write_org(org)
        db.session.commit()
        pulse = seed_pulse(weeks, seed, today)
        db.session.commit()
        extra = {**oneonones_demo.seed(random.Random(seed * 31 + 2), today),
                 **rewards_demo.seed(random.Random(seed * 37 + 3), today),
                 **actions_demo.seed(random.Random(seed * 41 + 5), today)}
        db.session.commit()
        threads, reply_link = replies_demo.seed(random.Random(seed * 43 + 7), datetime.now(UTC))
        extra.update(threads)
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Seeded {len(org.people)} people in {len(org.departments)} departments, "
               f"{pulse['rounds']} weekly rounds with {pulse['invitations']} invitations, "
               f"{pulse['responses']} responses and {pulse['answers']} answers"
               + "".join(f", {count} {name}" for name, count in extra.items())
               + f" in {time.perf_counter() - started:.1f} s.")
    print_logins()
    if reply_link:
        click.echo(f"A respondent's secret reply link, to try the other side of a conversation: {reply_link}")
