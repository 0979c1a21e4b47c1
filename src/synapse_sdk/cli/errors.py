"""Turning errors into one line and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from synapse_sdk.exceptions import SynapseError

P = ParamSpec('P')
R = TypeVar('R')

err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False


state = _State()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: <message>`` on stderr and return the Exit to raise."""
    err_console.print(f'[bold red]Error:[/] {message}', highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command, turning expected errors into one line on stderr and exit code 1.

    With ``synapse --debug`` the traceback is shown as well.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (SynapseError, FileNotFoundError, ValueError, OSError) as exc:
            if state.debug:
                err_console.print_exception()
            from synapse_sdk.utils.redact import redact

            raise fail(redact(_one_line(exc))) from exc

    return wrapper


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return ' '.join(text.split('\n')) if len(text) < 400 else text
