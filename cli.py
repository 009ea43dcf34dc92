"""App-level commands: ``flask pulses tick`` runs every feature's periodic work (see ``tasks.tick``) from cron;
``flask anonymity audit`` checks this instance's storage against the anonymity rules (``anonymity_audit``)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

import tasks

pulses_cli = AppGroup("pulses", help="Periodic work, run from cron: survey rounds, one-on-one and reward "
                                     "reminders, the e-mail outbox, housekeeping.")


def _parse_now(_ctx, _param, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-03-02T09:00:00+01:00") from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give an offset or Z, e.g. 2026-03-02T08:00:00Z")
    return parsed.astimezone(UTC)


@pulses_cli.command("tick")
@click.option("--now", callback=_parse_now, help="Pretend it is this time (ISO 8601 with offset).")
def tick(now: datetime):
    """Run all periodic work that is due. Idempotent.

    Closes, opens and reminds survey rounds, queues one-on-one and reward reminders, sends the e-mail
    outbox, then does housekeeping; safe to run from cron on several hosts at once.
    """
    summary = tasks.tick(now)
    report, mail = summary.pulses, summary.mail
    others = "".join(f", {name.replace('_', ' ')} {count}"
                     for name, count in {**summary.oneonones, **summary.rewards, **summary.housekeeping}.items())
    click.echo(f"{now.isoformat()}: opened {len(report.opened)} round(s), invited {report.invited}, "
               f"reminded {report.reminded}, closed {len(report.closed)}, mixed {report.mixed} answer(s){others}; "
               f"e-mail sent {mail.sent}, failed {mail.failed}.")


anonymity_cli = AppGroup("anonymity", help="Checks of the anonymity promise.")


@anonymity_cli.command("audit")
def audit_command():
    """Check this instance's storage and stored results against the anonymity rules (docs/anonymity.md).

    Prints one line per check; exits 1 if any fails.
    """
    import anonymity_audit

    checks = anonymity_audit.run()
    for check in checks:
        click.echo(check.line())
    failed = [c.name for c in checks if not c.ok]
    click.echo(f"{len(checks) - len(failed)} of {len(checks)} checks passed"
               + (f"; failed: {', '.join(failed)}." if failed else "."))
    if failed:
        raise SystemExit(1)
