"""``flask scim token create|list|revoke``: the bearer tokens identity providers provision with."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from errors import NotFound
from scim import tokens

scim_cli = AppGroup("scim", help="SCIM 2.0 provisioning at /scim/v2.")
token_cli = AppGroup("token", help="Bearer tokens for SCIM clients.")
scim_cli.add_command(token_cli)


@token_cli.command("create")
def create():
    """Make a token and print it once (the last line); only its hash is kept."""
    token, raw = tokens.create_token(datetime.now(UTC))
    click.echo(f"SCIM token {token.id} created. Give it to the identity provider now; it is not shown again:")
    click.echo(raw)


@token_cli.command("list")
def list_tokens():
    """One line per token: its id, when it was made and whether it is revoked (never the token)."""
    for token in tokens.all_tokens():
        state = f"revoked {token.revoked_at.isoformat()}" if token.revoked_at else "active"
        click.echo(f"{token.id}\tcreated {token.created_at.isoformat()}\t{state}")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int):
    """Revoke a token: SCIM requests bearing it are refused (401) from now on."""
    try:
        tokens.revoke_token(token_id, datetime.now(UTC))
    except NotFound as error:
        click.echo(error.message, err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"SCIM token {token_id} revoked.")
