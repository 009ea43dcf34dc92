"""``flask results ...``: maintenance of stored round results."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from dashboards.results import recount_closed_rounds

results_cli = AppGroup("results", help="Stored survey results.")


@results_cli.command("recount")
def recount() -> None:
    """Store every closed round's results again under the current anonymity guard.

    Run once after an upgrade whose notes say the guard changed: results are stored when a round
    closes, so older rounds keep the verdicts of the version that closed them until recounted.
    """
    rounds, changed = recount_closed_rounds()
    click.echo(f"Recounted {rounds} closed round(s); {changed} group verdict(s) changed.")
