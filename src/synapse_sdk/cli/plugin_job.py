"""`synapse plugin job get|logs|stop ID`: follow Ray jobs started with ``--mode job``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from synapse_sdk.cli.errors import handle_errors

if TYPE_CHECKING:
    from synapse_sdk.plugins.executors.ray import RayJobExecutor

app = typer.Typer(help='Ray jobs: status, logs, stop.', no_args_is_help=True)

_DASHBOARD = typer.Option(
    None,
    '--dashboard-url',
    '--ray-address',
    help='Ray dashboard (Jobs API) URL; default: $RAY_API_SERVER_ADDRESS, $RAY_DASHBOARD_ADDRESS or http://127.0.0.1:8265.',
)


def _executor(dashboard_url: str | None) -> RayJobExecutor:
    from synapse_sdk.plugins.executors.ray import RayJobExecutor
    from synapse_sdk.plugins.executors.ray._runner import dashboard_for

    return RayJobExecutor(dashboard_for(dashboard_url))


@app.command('get')
@handle_errors
def get(job_id: str = typer.Argument(..., help='The Ray job id.'), dashboard_url: str | None = _DASHBOARD) -> None:
    """Show a job's status, message and metadata."""
    from rich.console import Console
    from rich.table import Table

    info = _executor(dashboard_url).get_info(job_id)
    table = Table(show_header=False, box=None)
    table.add_row('job', str(info['submission_id']))
    table.add_row('status', info['status'].value)
    table.add_row('message', str(info['message'] or ''))
    for key, value in sorted((info['metadata'] or {}).items()):
        table.add_row(key, str(value))
    Console(highlight=False).print(table)


@app.command('logs')
@handle_errors
def logs(
    job_id: str = typer.Argument(..., help='The Ray job id.'),
    follow: bool = typer.Option(False, '--follow', '-f', help='Keep printing output until the job ends.'),
    dashboard_url: str | None = _DASHBOARD,
) -> None:
    """Print a job's output (secrets masked)."""
    executor = _executor(dashboard_url)
    if follow:
        for chunk in executor.stream_logs(job_id):
            typer.echo(chunk, nl=False)
        return
    typer.echo(executor.get_logs(job_id), nl=False)


@app.command('stop')
@handle_errors
def stop(job_id: str = typer.Argument(..., help='The Ray job id.'), dashboard_url: str | None = _DASHBOARD) -> None:
    """Ask Ray to stop a job."""
    stopped = _executor(dashboard_url).stop(job_id)
    typer.echo(f'Stopping job {job_id}' if stopped else f'Job {job_id} had already ended')
