"""`synapse login` and related top-level commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the authentication commands to the root app."""
