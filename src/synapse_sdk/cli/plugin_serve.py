"""`synapse plugin serve [ACTION]`: deploy a plugin's model server on Ray Serve; `--status`, `--delete NAME`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synapse_sdk.cli.errors import fail, handle_errors


def register(plugin_app: typer.Typer) -> None:
    """Add ``serve`` to the ``synapse plugin`` group."""
    plugin_app.command('serve')(handle_errors(serve))


def serve(
    action: Annotated[str | None, typer.Argument(help='The deployment action (default: the one that deploys).')] = None,
    path: Annotated[Path, typer.Option('--path', '-p', help='Plugin folder.')] = Path('.'),
    params: Annotated[
        str | None, typer.Option('--params', help='JSON params of the deployment, or @file.json.')
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option('--ray-address', help='Ray dashboard URL (default: a local Ray on 127.0.0.1, started if needed).'),
    ] = None,
    status: Annotated[bool, typer.Option('--status', help="List the cluster's Serve applications.")] = False,
    delete: Annotated[str | None, typer.Option('--delete', help='Delete this Serve application.')] = None,
    shutdown: Annotated[bool, typer.Option('--shutdown', help='Stop the local Ray started by this command.')] = False,
    timeout: Annotated[float, typer.Option('--timeout', help='Seconds to wait for RUNNING.')] = 300.0,
) -> None:
    """Deploy the plugin's model server and print its URL and status (exit 1 unless it is RUNNING)."""
    from rich.console import Console

    from synapse_sdk import serving
    from synapse_sdk.cli.plugin import parse_params

    console = Console(highlight=False)
    if shutdown:
        console.print('Stopped the local Ray' if serving.shutdown_local_head() else 'No local Ray was running')
        return
    if status:
        apps = serving.serve_status(ray_address)
        for app in apps:
            console.print(f'{app.name}  {app.status}  {app.url}' + (f'  ({app.message})' if app.message else ''))
        if not apps:
            console.print('No Serve applications')
        return
    if delete:
        serving.serve_delete(delete, ray_address)
        console.print(f'Deleted {delete}')
        return
    outcome = serving.serve_plugin(
        path,
        action,
        parse_params(params),
        ray_address=ray_address,
        timeout=timeout,
        on_status=lambda s: console.print(f'status: {s}'),
    )
    if outcome.status != 'RUNNING':
        raise fail(f'{outcome.name} is {outcome.status}: {outcome.message or "see the Ray dashboard"}')
    console.print(f'{outcome.name} is RUNNING at {outcome.url}')
