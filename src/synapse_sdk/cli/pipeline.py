"""`synapse pipeline list|show RUN`: pipeline runs and their checkpoints, as the backend keeps them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from synapse_sdk.cli.errors import backend_client_or_fail, handle_errors

__all__ = ['app']

app = typer.Typer(help='Pipeline runs: list them, show one with its checkpoints.', no_args_is_help=True)

_AS_JSON = typer.Option('--json', help='Print JSON instead of a table.')


def _client() -> Any:
    return backend_client_or_fail('read pipeline runs from')


@app.command('list')
@handle_errors
def list_runs(
    status: Annotated[
        str | None, typer.Option('--status', help='Only runs in this status (running, completed, failed, ...).')
    ] = None,
    as_json: Annotated[bool, _AS_JSON] = False,
) -> None:
    """The recorded pipeline runs, newest first."""
    from rich.console import Console
    from rich.table import Table

    params: dict[str, Any] = {'ordering': '-id'}
    if status:
        params['status'] = status
    client = _client()
    try:
        runs = client.list_pipeline_runs(params)
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        typer.echo('No pipeline runs recorded.')
        return
    table = Table('run', 'name', 'status', 'actions', 'progress', 'resumed from', 'created')
    for run in runs:
        overall = (run.get('progress') or {}).get('overall', 0.0)
        table.add_row(
            str(run['id']),
            run['name'] or '-',
            run['status'],
            ' → '.join(run['actions']),
            f'{overall:.0f}%',
            str(run['resumed_from'] or '-'),
            str(run['created_at'] or ''),
        )
    Console(highlight=False, width=160).print(table)


@app.command('show')
@handle_errors
def show_run(
    run_id: Annotated[int, typer.Argument(help='The run id (`synapse pipeline list` shows them).')],
    as_json: Annotated[bool, _AS_JSON] = False,
) -> None:
    """One run: its actions with their status, its checkpoints and its error or result."""
    from rich.console import Console
    from rich.table import Table

    client = _client()
    try:
        run = client.get_pipeline_run(run_id)
        checkpoints = client.list_pipeline_checkpoints(run_id)
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps({**run, 'checkpoints': checkpoints}, indent=2))
        return
    console = Console(highlight=False, width=160)
    console.print(f'Pipeline run {run["id"]}' + (f' ({run["name"]})' if run['name'] else '') + f': {run["status"]}')
    if run['resumed_from']:
        console.print(f'resumed from run {run["resumed_from"]}')
    states = {i: a for i, a in enumerate((run.get('progress') or {}).get('actions') or [])}
    done = {c['action_index']: c for c in checkpoints}
    table = Table('#', 'action', 'status', 'checkpoint')
    for index, name in enumerate(run['actions']):
        state = states.get(index, {})
        status = state.get('status', 'pending') + (' (from checkpoint)' if state.get('restored') else '')
        checkpoint = done.get(index)
        table.add_row(str(index + 1), name, status, str(checkpoint['created_at']) if checkpoint else '-')
    console.print(table)
    if run['error']:
        console.print(f'error: {run["error"]}', markup=False)
    if run['status'] == 'completed':
        console.print(f'result: {json.dumps(run["result"])}', markup=False)
