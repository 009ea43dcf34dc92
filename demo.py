"""``flask demo seed``: a reproducible demo organisation.

The same ``--seed`` always gives the same data. Rows are bulk-inserted, not
built one ORM object at a time, so 10,000 people take seconds.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from extensions import db
from people.models import Department, Person

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
            lead = person(team, head, email="manager@polso.example" if demo_team else None,
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
    org = build_org(employees, seed, date.today())
    try:
        write_org(org)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Seeded {len(org.people)} people in {len(org.departments)} departments "
               f"in {time.perf_counter() - started:.1f} s.")
    print_logins()
