"""``flask anonymity audit``: the anonymity promise checked against this instance."""

from __future__ import annotations

import click
from flask.cli import AppGroup

anonymity_cli = AppGroup("anonymity", help="Checks of the anonymity promise.")


@anonymity_cli.command("audit")
def audit_command():
    """Check this instance's storage and stored results against the anonymity rules (docs/anonymity.md).

    Prints one line per check; exits 1 if any fails.
    """
    from surveys import audit

    checks = audit.run()
    for check in checks:
        click.echo(check.line())
    failed = [c.name for c in checks if not c.ok]
    click.echo(f"{len(checks) - len(failed)} of {len(checks)} checks passed"
               + (f"; failed: {', '.join(failed)}." if failed else "."))
    if failed:
        raise SystemExit(1)
