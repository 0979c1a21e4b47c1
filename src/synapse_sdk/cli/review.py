"""`synapse review` commands: review a ToTask dry run in the browser, list runs, commit what was approved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from synapse_sdk.cli.errors import EXIT_PARTIAL, backend_client_or_fail, err_console, handle_errors

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.commit import CommitReport

__all__ = ['review_app']


class _OpensByDefault(TyperGroup):
    """``synapse review RUN`` is ``synapse review open RUN``: a first word that is no command is a run id."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith('-'):
            args = ['open', *args]
        return super().parse_args(ctx, args)


review_app = typer.Typer(
    cls=_OpensByDefault,
    help='Review ToTask runs: `synapse review RUN` opens a run in the browser; list; commit.',
    no_args_is_help=True,
)

RunId = Annotated[str, typer.Argument(help='The run id (or a unique start of it); `synapse review list` shows them.')]


def _client() -> Any:
    return backend_client_or_fail('review against')


@review_app.command('open')
@handle_errors
def open_review(
    run_id: RunId,
    port: Annotated[int, typer.Option('--port', min=0, max=65535, help='Port on 127.0.0.1 (0: any free one).')] = 0,
    no_open: Annotated[bool, typer.Option('--no-open', help='Print the link only; do not open a browser.')] = False,
) -> None:
    """Serve the review page of a run on 127.0.0.1 and open it (Ctrl-C stops it)."""
    from synapse_sdk.review.server import serve_review

    client = _client()

    def ready(url: str) -> None:
        typer.echo(f'Review page: {url}')
        typer.echo("(the link carries this server's key; Ctrl-C stops the server)")
        if not no_open:
            import webbrowser

            webbrowser.open(url)

    try:
        serve_review(run_id, lambda: client, port=port, on_ready=ready)
    finally:
        client.close()


@review_app.command('list')
@handle_errors
def list_runs_command(
    as_json: Annotated[bool, typer.Option('--json', help='Print the runs as JSON.')] = False,
) -> None:
    """The ToTask runs recorded in this state folder (SYNAPSE_STATE_DIR), newest first, with their counts."""
    import json

    from rich.console import Console
    from rich.table import Table

    from synapse_sdk.plugins.actions.to_task.record import list_runs, open_run, runs_dir

    rows = []
    for meta in list_runs():
        with open_run(meta.run_id) as record:
            rows.append((meta, record.counts()))
    if as_json:
        typer.echo(json.dumps([{**m.model_dump(mode='json'), 'counts': c} for m, c in rows], indent=2))
        return
    out = Console(highlight=False, soft_wrap=True)
    if not rows:
        out.print(f'No runs in {runs_dir()}; a ToTask run with dry_run: true records one.', markup=False)
        return
    table = Table('Run', 'Project', 'Kind', 'Status', 'Pending', 'Approved', 'Rejected', 'Written')
    table.columns[0].no_wrap = True  # a run id is what one copies from here
    for meta, counts in rows:
        kind = 'dry run' if meta.dry_run else 'written'
        table.add_row(
            meta.run_id,
            str(meta.project),
            kind,
            meta.status,
            *(str(counts.get(k, 0)) for k in ('pending', 'approved', 'rejected', 'written')),
        )
    out.print(table)


@review_app.command('commit')
@handle_errors
def commit_command(
    run_id: RunId,
    approved_only: Annotated[
        bool,
        typer.Option(
            '--approved-only/--all-pending',
            help='Write the approved tasks only (default), or every task not rejected (pending ones too).',
        ),
    ] = True,
) -> None:
    """Write a dry run's approved proposals to the backend; tasks changed since the dry run are conflicts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synapse_sdk.plugins.actions.to_task.commit import commit_run
    from synapse_sdk.plugins.actions.to_task.record import open_run

    with open_run(run_id) as record:
        client = _client()
        try:
            columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
                task = bar.add_task(f'commit {record.run_id}', total=None)
                report = commit_run(
                    record,
                    client,
                    approved_only=approved_only,
                    on_progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        finally:
            client.close()
    _render(report)
    if report.conflicts or report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _render(report: CommitReport) -> None:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    out.print(
        f'Run {report.run_id}: {report.selected} selected, {report.written} written, {report.already} already '
        f'in place, {len(report.conflicts)} conflicts, {len(report.failed)} failed',
        markup=False,
    )
    for conflict in report.conflicts:
        out.print(f'  conflict: task {conflict.task_id}: {conflict.reason}', markup=False)
    for failure in report.failed:
        out.print(f'  failed: task {failure.task_id}: {failure.error}', markup=False)
