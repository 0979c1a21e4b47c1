"""`synapse to-task undo RUN`: put back what a ToTask run (or a commit of a dry run) wrote."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from synapse_sdk.cli.errors import EXIT_PARTIAL, backend_client_or_fail, err_console, handle_errors

__all__ = ['app']

app = typer.Typer(help='ToTask runs: undo what a run wrote.', no_args_is_help=True)


@app.callback()
def _group() -> None:
    """ToTask runs: undo what a run wrote (dry runs are reviewed and committed with `synapse review`)."""


def _client() -> Any:
    return backend_client_or_fail('undo against')


@app.command('undo')
@handle_errors
def undo(
    run_id: Annotated[str, typer.Argument(help='The run id (or a unique start of it); `synapse review list`.')],
    yes: Annotated[bool, typer.Option('--yes', '-y', help='Do not ask before writing.')] = False,
) -> None:
    """Restore each task this run wrote to the data it held before, unless it changed since (a conflict)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synapse_sdk.plugins.actions.to_task.commit import undo_run
    from synapse_sdk.plugins.actions.to_task.record import open_run

    with open_run(run_id) as record:
        written = record.counts()['written']
        if not written:
            typer.echo(f'Run {record.run_id} has nothing to undo (no task it wrote is left un-undone).')
            return
        if not yes and not typer.confirm(f'Restore {written} task(s) written by run {record.run_id}?'):
            raise typer.Exit(1)
        client = _client()
        try:
            columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
                task = bar.add_task(f'undo {record.run_id}', total=written)
                report = undo_run(
                    record, client, on_progress=lambda done, total: bar.update(task, completed=done, total=total)
                )
        finally:
            client.close()
    typer.echo(
        f'Run {report.run_id}: {report.restored} restored, {report.already} already as before, '
        f'{len(report.conflicts)} conflicts, {len(report.failed)} failed'
    )
    for conflict in report.conflicts:
        typer.echo(f'  conflict: task {conflict.task_id}: {conflict.reason}')
    for failure in report.failed:
        typer.echo(f'  failed: task {failure.task_id}: {failure.error}')
    if report.conflicts or report.failed:
        raise typer.Exit(EXIT_PARTIAL)
