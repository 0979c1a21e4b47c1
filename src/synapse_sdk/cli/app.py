"""The root typer app: global options and one sub-app per command group."""

from __future__ import annotations

import typer

from synapse_sdk.cli import (
    agent,
    auth,
    dataset,
    doctor,
    local,
    mcp,
    pipeline,
    plugin,
    plugin_package,
    plugin_serve,
    to_task,
)
from synapse_sdk.cli.errors import state
from synapse_sdk.cli.metavars import SynapseGroup
from synapse_sdk.cli.review import review_app

app = typer.Typer(
    name='synapse',
    cls=SynapseGroup,
    help='Synapse plugin SDK: create, run, test and publish plugins; run the local backend.',
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plugin_serve.register(plugin.app)
plugin_package.register(plugin.app)
app.add_typer(plugin.app, name='plugin')
app.add_typer(local.app, name='local')
app.add_typer(dataset.app, name='dataset')
app.add_typer(review_app, name='review')
app.add_typer(to_task.app, name='to-task')
app.add_typer(pipeline.app, name='pipeline')
app.add_typer(agent.app, name='agent')
app.add_typer(mcp.app, name='mcp')
doctor.register(app)
auth.register(app)


def _version_callback(value: bool) -> None:
    if value:
        from synapse_sdk import __version__

        typer.echo(f'synapse-sdk {__version__}')
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, '--version', callback=_version_callback, is_eager=True, help='Print the version and exit.'
    ),
    debug: bool = typer.Option(False, '--debug', help='Show full tracebacks on errors.'),
) -> None:
    """Synapse plugin SDK."""
    state.debug = debug


def main() -> None:
    """Console-script entry point."""
    app()
