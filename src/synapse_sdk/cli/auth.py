"""`synapse login` and related top-level commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synapse_sdk.cli.errors import fail, handle_errors

console = Console()


@handle_errors
def login(
    host: Annotated[str, typer.Option('--host', help='Backend URL, e.g. https://api.synapse.sh')],
    token: Annotated[str, typer.Option('--token', help='Access token.', prompt=True, hide_input=True)],
    tenant: Annotated[str | None, typer.Option('--tenant', help='Tenant code.')] = None,
    config: Annotated[
        Path | None, typer.Option('--config', help='Config file (default ~/.synapse/config.json).')
    ] = None,
) -> None:
    """Check the token against the backend, then save host and token to the config file (mode 0600)."""
    from synapse_sdk.clients.login import verify_and_save

    saved = verify_and_save(host, token, tenant=tenant, path=config)
    console.print(f'Logged in to {host.rstrip("/")}; credentials saved to {saved}')


@handle_errors
def logout(
    config: Annotated[
        Path | None, typer.Option('--config', help='Config file (default ~/.synapse/config.json).')
    ] = None,
) -> None:
    """Remove the saved host and tokens from the config file."""
    from synapse_sdk.clients.credentials import forget_credentials

    if not forget_credentials(config):
        raise fail('Not logged in: no credentials in the config file')
    console.print('Credentials removed')


def register(app: typer.Typer) -> None:
    """Add the authentication commands to the root app."""
    app.command('login')(login)
    app.command('logout')(logout)
