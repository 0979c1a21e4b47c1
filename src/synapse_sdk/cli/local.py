"""`synapse local` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help='Local commands.', no_args_is_help=True)
