"""`synapse plugin` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help='Plugin commands.', no_args_is_help=True)
