"""`synapse doctor`: one line per check of this machine's setup, with the fix; exit 1 when one fails.

The checks (:mod:`synapse_sdk.cli._doctor_checks`, :mod:`synapse_sdk.cli._doctor_machine`): the
config file, the backend's answer to the credentials, an agent's health, the Ray cluster of
``RAY_ADDRESS`` and this machine's Ray auth mode, the local backend's state, Chromium. Each is bounded
(10 s at most); none changes anything.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from synapse_sdk.cli.errors import handle_errors

if TYPE_CHECKING:
    from synapse_sdk.cli._doctor_checks import Check, Context

__all__ = ['doctor', 'register', 'run_checks']


def run_checks(ctx: Context | None = None) -> list[Check]:
    """Every check, in order (each sees what the earlier ones found); clients they opened are closed."""
    from synapse_sdk.cli._doctor_checks import Context, check_agent, check_backend, check_config
    from synapse_sdk.cli._doctor_machine import check_chromium, check_local, check_ray

    ctx = ctx or Context()
    try:
        return [
            check(ctx) for check in (check_config, check_backend, check_agent, check_ray, check_local, check_chromium)
        ]
    finally:
        ctx.close()


@handle_errors
def doctor(as_json: Annotated[bool, typer.Option('--json', help='Print the checks as JSON.')] = False) -> None:
    """Check the config file, credentials, agent, Ray, the local backend and Chromium; print each fix."""
    from synapse_sdk.cli._doctor_checks import Status

    checks = run_checks()
    failed = sum(check.status.failed for check in checks)
    if as_json:
        typer.echo(
            json.dumps({'ok': not failed, 'checks': [check.model_dump(mode='json') for check in checks]}, indent=2)
        )
    else:
        for check in checks:
            typer.echo(check.line())
        counts = {status: sum(check.status is status for check in checks) for status in Status}
        summary = (
            f'{counts[Status.PASS]} passed, {counts[Status.WARN]} warned, {counts[Status.FAIL]} failed, '
            f'{counts[Status.SKIP]} skipped'
        )
        typer.echo(summary)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``synapse doctor`` to the root app."""
    app.command('doctor')(doctor)
