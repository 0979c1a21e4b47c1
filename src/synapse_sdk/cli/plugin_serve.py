"""`synapse plugin serve [ACTION]`: deploy a plugin's model server on Ray Serve; `--status`, `--delete NAME`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

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
    allow_unknown_params: Annotated[
        bool,
        typer.Option(
            '--allow-unknown-params', help='Deploy despite params keys the action does not know (a warning names them).'
        ),
    ] = False,
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
    values = parse_params(params)
    check_deployment_params(path, action, values, allow_unknown_params)
    with _relaxed(allow_unknown_params):
        outcome = serving.serve_plugin(
            path,
            action,
            values,
            ray_address=ray_address,
            timeout=timeout,
            on_status=lambda s: console.print(f'status: {s}'),
        )
    if outcome.status != 'RUNNING':
        raise fail(f'{outcome.name} is {outcome.status}: {outcome.message or "see the Ray dashboard"}')
    console.print(f'{outcome.name} is RUNNING at {outcome.url}')


def check_deployment_params(path: Path, action: str | None, params: dict[str, Any] | None, allow_unknown: bool) -> None:
    """Refuse bad params (unknown keys, booleans for numbers ...) here, before anything is deployed."""
    from synapse_sdk.plugins._function_action import action_class_for
    from synapse_sdk.plugins.actions.inference.deployment import BaseDeploymentAction
    from synapse_sdk.plugins.discovery import PluginDiscovery
    from synapse_sdk.plugins.executors._run import validate_params
    from synapse_sdk.serving import _deployment_action

    discovery = PluginDiscovery.from_path(path.resolve())
    key = action or _deployment_action(discovery, BaseDeploymentAction)
    validate_params(action_class_for(discovery.get_action_class(key)), params, allow_unknown=allow_unknown)


@contextmanager
def _relaxed(allow_unknown: bool) -> Iterator[None]:
    """``SYNAPSE_ALLOW_UNKNOWN_PARAMS=1`` while submitting, so the deployment job (which inherits it) relaxes too."""
    from synapse_sdk.plugins._params_check import ALLOW_UNKNOWN_ENV

    if not allow_unknown or ALLOW_UNKNOWN_ENV in os.environ:
        yield
        return
    os.environ[ALLOW_UNKNOWN_ENV] = '1'
    try:
        yield
    finally:
        os.environ.pop(ALLOW_UNKNOWN_ENV, None)
