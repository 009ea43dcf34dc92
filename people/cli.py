"""``flask users ...`` and ``flask people ...`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from errors import ValidationError
from people import directory, importing
from people.models import ROLES

users_cli = AppGroup("users", help="Manage people who sign in.")
people_cli = AppGroup("people", help="Import people.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", help="At least 8 characters; without it the person cannot sign in yet.")
@click.option("--manager", "manager_email", help="The manager's e-mail.")
@click.option("--department", help="Department name; created if missing.")
def create_user(email, name, role, password, manager_email, department):
    """Create a person."""
    try:
        person = directory.create_user(email, name, role, password, manager_email, department)
    except ValidationError as error:
        for field, message in error.fields.items():
            click.echo(f"{field}: {message}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"Created {person.email} ({person.role}).")


@people_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_people(file: Path):
    """Create or update people from a CSV file (all or nothing)."""
    try:
        people = importing.import_people_csv(file.read_bytes())
    except ValidationError as error:
        click.echo(error.message, err=True)
        for field, message in error.fields.items():
            click.echo(f"  {field}: {message}", err=True)
        for row in error.rows:
            for field, message in row.fields.items():
                click.echo(f"  line {row.row}, {field}: {message}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"Imported {len(people)} people.")
