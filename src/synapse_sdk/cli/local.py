"""`synapse local` commands: the embedded local backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    read_only: bool = typer.Option(
        False, '--read-only', help='May only read (GET, HEAD), e.g. to share a review; any write gets 403.'
    ),
    state_dir: StateDir = None,
) -> None:
    """Issue a token and print it once; only its digest is kept."""
    from synapse_sdk.local.setup import create_token

    kind = 'user' if user else 'access'
    token = create_token(kind, name, state_dir, read_only=read_only)
    header = 'Authorization: Token <token>' if user else 'Synapse-Access-Token: Token <token>'
    console.print(
        f'New {"read-only " if read_only else ""}{kind} token (shown once; only its digest is stored; '
        f'send it as `{header}`):',
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

    table = Table('id', 'kind', 'name', 'scope', 'created (UTC)')
    for info in list_tokens(state_dir):
        scope = 'read-only' if info.read_only else 'read-write'
        table.add_row(str(info.id), info.kind, info.name, scope, info.created_at.isoformat(timespec='seconds'))
    console.print(table)


@token_app.command('revoke')
@handle_errors
def token_revoke(
    ref: Annotated[str, typer.Argument(help="The token's id or name (as `synapse local token list` shows).")],
    state_dir: StateDir = None,
) -> None:
    """Delete a token: it stops working at once here, and within 2 s on a running server."""
    from synapse_sdk.local.auth import DEFAULT_TOKEN_CACHE_SECONDS
    from synapse_sdk.local.paths import LocalPaths
    from synapse_sdk.local.setup import revoke_token

    info = revoke_token(ref, state_dir)
    label = f" '{info.name}'" if info.name else ''
    console.print(
        f'Revoked {info.kind} token {info.id}{label}; a running server refuses it within '
        f'{DEFAULT_TOKEN_CACHE_SECONDS:g} s.',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    paths = LocalPaths.resolve(state_dir)
    if not paths.token_file.exists():
        console.print(
            f'It was the local token of {paths.token_file}: that file is removed, and the next local client '
            'gets a new token (`synapse local init` issues one now).',
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command('serve')
@handle_errors
def serve(
    host: str = typer.Option('127.0.0.1', help='Interface to bind (anything but loopback exposes the backend).'),
    port: int = typer.Option(8000, help='Port to listen on (0: a free one).'),
    max_json_bytes: int | None = typer.Option(
        None,
        '--max-json-bytes',
        min=1,
        help='Largest JSON (non-file) request body in bytes (default 16 MiB); file uploads have their own limit.',
    ),
    state_dir: StateDir = None,
) -> None:
    """Run the backend with uvicorn until interrupted."""
    from synapse_sdk.local.server import is_loopback_host
    from synapse_sdk.local.server import serve as run_server

    if not is_loopback_host(host):
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f'WARNING: --host {host} is not a loopback address. This exposes EVERY project of this local '
            'backend to the network, and tokens travel in clear text over plain HTTP. Bind 127.0.0.1 (the '
            'default) unless you mean it, and put TLS in front of it.',
            style='bold red',
            markup=False,
        )
    console.print(f'Serving the local backend on {host}, port {port} (Ctrl+C to stop)', markup=False)
    console.print(
        'Its agent runs deployments, inference and jobs on a local Ray (127.0.0.1), '
        'started on first need and stopped with this server'
    )
    run_server(
        host,
        port,
        state_dir=state_dir,
        max_json_bytes=max_json_bytes,
        on_ready=lambda url: _announce(url, state_dir),
    )


def _announce(url: str, state_dir: Any) -> None:
    from synapse_sdk.local.app import review_key
    from synapse_sdk.local.paths import LocalPaths

    console.print(f'Listening on {url}', markup=False, highlight=False)
    key = review_key(LocalPaths.resolve(state_dir))
    console.print(f'ToTask review pages: {url.rstrip("/")}/review/?key={key}', markup=False, highlight=False)


@app.command('status')
@handle_errors
def status(state_dir: StateDir = None) -> None:
    """Whether `synapse local serve` runs for the state directory (exit 0), or not (exit 1).

    A stale server.json (its process gone, its pid reused, another backend at its URL) is removed.
    """
    from synapse_sdk.local.paths import LocalPaths
    from synapse_sdk.local.server_record import check_server

    paths = LocalPaths.resolve(state_dir)
    found = check_server(paths, log=False)
    record = found.record
    if found.state == 'running' and record is not None:
        message = f'Running at {record.url} (pid {record.pid})'
    elif found.state == 'stale':
        message = f'Stale server record removed ({paths.server_file}): {found.reason}'
    elif found.state == 'busy':
        message = f'Not answering: {found.reason} (record kept)'
    else:
        message = f'Not running (no server record in {paths.root})'
    console.print(message, markup=False, highlight=False, soft_wrap=True)
    if found.state != 'running':
        raise typer.Exit(1)


@app.command('import')
@handle_errors
def import_(
    folder: Annotated[Path, typer.Argument(help='Folder holding the files.')],
    project: Annotated[str, typer.Option('--project', help='Project name (created when missing).')],
    spec: Annotated[list[str], typer.Option('--spec', help='NAME=GLOB, repeatable; the first is primary.')],
    quiet: bool = typer.Option(False, '--quiet', '-q', help='No progress bar and no transfer summary.'),
    state_dir: StateDir = None,
) -> None:
    """One data unit per file stem, one task per data unit; re-importing skips what exists.

    On a terminal a progress bar shows files, bytes and rate; a summary line follows (not with --quiet).
    """
    from synapse_sdk.cli._import_progress import ImportProgress
    from synapse_sdk.local.transfer import import_folder

    with ImportProgress(console, folder, spec, quiet=quiet) as tracker:
        result = import_folder(folder, project, spec, state_dir=state_dir, progress=tracker.update)
    if not quiet:
        console.print(tracker.summary(), markup=False, highlight=False)
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
