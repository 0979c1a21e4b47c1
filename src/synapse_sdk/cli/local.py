"""`synapse local` commands: the embedded local backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synapse_sdk.cli.errors import handle_errors

app = typer.Typer(help='The embedded local backend (SQLite under ~/.synapse/local, or $SYNAPSE_LOCAL_DIR).')
console = Console()

StateDir = Annotated[
    Path | None, typer.Option('--dir', help='State directory (default: $SYNAPSE_LOCAL_DIR or ~/.synapse/local).')
]


@app.command('init')
@handle_errors
def init(state_dir: StateDir = None, new_token: bool = typer.Option(False, help='Issue another access token.')) -> None:
    """Create the database and print an access token (once). Re-running keeps all data."""
    from synapse_sdk.local.setup import init_local

    result = init_local(state_dir, new_token=new_token)
    console.print(f'Local backend ready in [bold]{result.paths.root}[/]')
    if result.token:
        console.print('Access token (send it as `Synapse-Access-Token: Token <token>`):')
        console.print(result.token, markup=False, highlight=False, soft_wrap=True)
        console.print(
            f'Stored hashed in the database, and in plain text in {result.paths.token_file} (mode 0600, '
            'readable only by you) so that clients on this machine connect without configuration.',
            markup=False,
            highlight=False,
            soft_wrap=True,  # never break the path
        )
    else:
        console.print('Already initialised: existing data and tokens kept (use --new-token for another token).')


token_app = typer.Typer(help='Tokens of the local backend (stored only as SHA-256 digests).')
app.add_typer(token_app, name='token')


@token_app.command('create')
@handle_errors
def token_create(
    user: bool = typer.Option(
        False, '--user', help='A user token (sent as `Authorization: Token <t>`) instead of an access token.'
    ),
    name: str = typer.Option('', '--name', help='A label for the token list.'),
    state_dir: StateDir = None,
) -> None:
    """Issue a token and print it once; only its digest is kept."""
    from synapse_sdk.local.setup import create_token

    kind = 'user' if user else 'access'
    token = create_token(kind, name, state_dir)
    header = 'Authorization: Token <token>' if user else 'Synapse-Access-Token: Token <token>'
    console.print(
        f'New {kind} token (shown once; only its digest is stored; send it as `{header}`):',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(token, markup=False, highlight=False, soft_wrap=True)


@token_app.command('list')
@handle_errors
def token_list(state_dir: StateDir = None) -> None:
    """The issued tokens (id, kind, name, creation time); the tokens themselves are never stored."""
    from rich.table import Table

    from synapse_sdk.local.setup import list_tokens

    table = Table('id', 'kind', 'name', 'created (UTC)')
    for info in list_tokens(state_dir):
        table.add_row(str(info.id), info.kind, info.name, info.created_at.isoformat(timespec='seconds'))
    console.print(table)


@app.command('serve')
@handle_errors
def serve(
    host: str = typer.Option('127.0.0.1', help='Interface to bind.'),
    port: int = typer.Option(8000, help='Port to listen on.'),
    state_dir: StateDir = None,
) -> None:
    """Run the backend with uvicorn until interrupted."""
    from synapse_sdk.local.server import serve as run_server

    console.print(f'Serving the local backend on http://{host}:{port}/ (Ctrl+C to stop)')
    console.print(
        'Its agent runs deployments, inference and jobs on a local Ray (127.0.0.1), '
        'started on first need and stopped with this server'
    )
    run_server(host, port, state_dir=state_dir)


@app.command('import')
@handle_errors
def import_(
    folder: Annotated[Path, typer.Argument(help='Folder holding the files.')],
    project: Annotated[str, typer.Option('--project', help='Project name (created when missing).')],
    spec: Annotated[list[str], typer.Option('--spec', help='NAME=GLOB, repeatable; the first is primary.')],
    state_dir: StateDir = None,
) -> None:
    """One data unit per file stem, one task per data unit; re-importing skips what exists."""
    from rich.progress import Progress

    from synapse_sdk.local.transfer import import_folder

    with Progress(console=console, transient=True) as bar:
        job = bar.add_task('Importing', total=None)
        result = import_folder(
            folder,
            project,
            spec,
            state_dir=state_dir,
            progress=lambda done, total: bar.update(job, completed=done, total=total),
        )
    console.print(
        f"Project '{project}' (id {result.project_id}): {result.created} data units and tasks created, "
        f'{result.skipped} already present'
    )
    if result.incomplete:
        shown = ', '.join(result.incomplete[:5]) + (' ...' if len(result.incomplete) > 5 else '')
        console.print(f'[yellow]{len(result.incomplete)} stems lack a file for some --spec:[/] {shown}')


@app.command('export')
@handle_errors
def export(
    project: Annotated[str, typer.Argument(help='Project name.')],
    folder: Annotated[Path, typer.Argument(help='Folder to write the task files into.')],
    state_dir: StateDir = None,
) -> None:
    """Write each task's data JSON to FOLDER: <key>.json, or <key>-task<id>.json for later tasks of a data unit."""
    from rich.progress import Progress

    from synapse_sdk.local.transfer import export_project

    with Progress(console=console, transient=True) as bar:
        job = bar.add_task('Exporting', total=None)
        result = export_project(
            project,
            folder,
            state_dir=state_dir,
            progress=lambda done, total: bar.update(job, completed=done, total=total),
        )
    console.print(f'Wrote {result.written} task files to {result.folder}')
