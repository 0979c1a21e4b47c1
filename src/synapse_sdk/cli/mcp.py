"""`synapse mcp` commands: serve a plugin as MCP tools over stdio, and print a client's config snippet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synapse_sdk.cli.errors import handle_errors

app = typer.Typer(help="Serve a plugin's actions and the backend as MCP tools (Claude Desktop and others).")

PathOpt = Annotated[Path, typer.Option('--path', '-p', help='Plugin folder or its config.yaml.')]


@app.command('serve')
@handle_errors
def serve(path: PathOpt = Path('.')) -> None:
    """Serve the plugin over stdio: a tool per action (writes are dry runs unless "dry_run": false) plus backend tools.

    Credentials come from the environment (SYNAPSE_HOST, SYNAPSE_ACCESS_TOKEN) or `synapse login`'s
    config file; with none, the local backend.
    """
    from synapse_sdk.mcp.server import serve as serve_stdio

    serve_stdio(path)


@app.command('init')
@handle_errors
def init(
    path: PathOpt = Path('.'),
    name: Annotated[str | None, typer.Option('--name', help='Server name (default: synapse-<code>).')] = None,
) -> None:
    """Print the JSON an MCP client's config needs to start `synapse mcp serve` for this plugin."""
    import json

    from synapse_sdk.mcp.client_config import client_config

    typer.echo(json.dumps(client_config(path, name=name), indent=2))
