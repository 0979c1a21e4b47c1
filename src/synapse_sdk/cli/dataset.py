"""`synapse dataset` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help='Dataset commands.', no_args_is_help=True)
