"""Turning errors into one line and an exit code, and warnings into one ``Warning:`` line."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console

from synapse_sdk.exceptions import ActionNotFoundError, ExecutionError, StepError, SynapseError

P = ParamSpec('P')
R = TypeVar('R')

err_console = Console(stderr=True)

_DEBUG_HELP = 'Show full tracebacks on errors (same as `synapse --debug`).'
_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)

#: ``synapse plugin run`` exit codes (docs/plugins.md): 0 every item succeeded or was skipped
EXIT_FAILED = 1  #: the run failed (an error, or a result whose status is FAILED)
EXIT_PARTIAL = 3  #: the run finished, but some items failed (``failed_count > 0``); 2 is a usage error


DEBUG_HINT = 'run again with --debug for the full traceback'

Channel = Literal['log', 'run']


class Echoes:
    """The last warnings printed this command, per channel, so one warning sent down both prints once.

    A run reports a warning to its logger (the progress display) and to the ``synapse_sdk`` logger
    (for library callers), one right after the other; whichever arrives first prints, and the same
    text from the other channel is then dropped, once per print. Only the last :attr:`WINDOW`
    warnings of each channel are remembered, so a long run's memory stays flat.
    """

    WINDOW = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[Channel, deque[str]] = {'log': deque(maxlen=self.WINDOW), 'run': deque(maxlen=self.WINDOW)}

    def first(self, text: str, channel: Channel) -> bool:
        """Whether ``text`` from ``channel`` should print (False: the other channel just printed it)."""
        other: Channel = 'run' if channel == 'log' else 'log'
        with self._lock:
            if text in self._recent[other]:
                self._recent[other].remove(text)
                return False
            self._recent[channel].append(text)
            return True


@dataclass
class _State:
    debug: bool = False
    echoes: Echoes = field(default_factory=Echoes)


state = _State()


def result_exit_code(result: Any) -> int:
    """0, :data:`EXIT_FAILED` or :data:`EXIT_PARTIAL` for an action's result (a model or a dict)."""
    data = result.model_dump() if hasattr(result, 'model_dump') else result
    if not isinstance(data, dict):
        return 0
    if str(data.get('status', '')).upper() == 'FAILED':
        return EXIT_FAILED
    failed = data.get('failed_count')
    return EXIT_PARTIAL if isinstance(failed, int) and not isinstance(failed, bool) and failed > 0 else 0


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: <message>`` on stderr and return the Exit to raise."""
    err_console.print(f'[bold red]Error:[/] {message}', highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def backend_client_or_fail(purpose: str) -> Any:
    """The configured backend client, or exit 1 with ``No backend to <purpose>`` and how to configure one."""
    from synapse_sdk.connect import create_backend_client

    client = create_backend_client()
    if client is None:
        raise fail(f'No backend to {purpose}: run `synapse login`, or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN')
    return client


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the CLI: ``Warning: <message>`` on one line of stderr, no source line."""
    text = ' '.join(str(message).split())
    Console(stderr=True, highlight=False, soft_wrap=True).print(f'Warning: {text}', style='yellow', markup=False)


class _ConsoleHandler(logging.Handler):
    """``synapse_sdk`` log records at WARNING and above as one ``Warning:`` (or ``Error:``) line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = ' '.join(record.getMessage().split())
        except Exception:  # a record whose arguments do not format: logging's own report
            self.handleError(record)
            return
        if not state.echoes.first(text, 'log'):
            return
        label = 'Warning' if record.levelno < logging.ERROR else record.levelname.capitalize()
        Console(stderr=True, highlight=False, soft_wrap=True).print(f'{label}: {text}', style='yellow', markup=False)


@contextmanager
def _sdk_log_lines() -> Iterator[None]:
    """Print the SDK's warnings as one line each, where otherwise logging's last resort prints them bare.

    Nothing is added when logging is configured (a handler anywhere up the ``synapse_sdk`` chain).
    """
    logger = logging.getLogger('synapse_sdk')
    state.echoes = Echoes()
    if logger.hasHandlers():
        yield
        return
    handler = _ConsoleHandler(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command, turning expected errors into one line on stderr and exit code 1.

    Warnings print as one ``Warning:`` line (the active warning filters still decide which show);
    Ctrl-C prints one line and exits 130. The command also accepts ``--debug`` (anywhere after
    its name, like ``synapse --debug`` before it), which shows the traceback as well.
    """
    try:
        signature: inspect.Signature | None = inspect.signature(func, eval_str=True)
    except NameError:  # an annotation only importable for type checkers: no --debug of its own
        signature = None
    adds_debug = (
        signature is not None
        and 'debug' not in signature.parameters
        and all(p.kind is not p.VAR_KEYWORD for p in signature.parameters.values())
    )

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        asked = bool(kwargs.pop('debug', False)) if adds_debug else False
        debug = asked or state.debug
        with warnings.catch_warnings(), _sdk_log_lines():
            warnings.showwarning = show_warning
            try:
                return func(*args, **kwargs)
            except (typer.Exit, typer.Abort):
                raise
            except KeyboardInterrupt:
                err_console.print('Interrupted', style='yellow', highlight=False)
                raise typer.Exit(_INTERRUPTED) from None
            except (SynapseError, FileNotFoundError, ValueError, OSError) as exc:
                if debug:
                    err_console.print_exception()
                from synapse_sdk.utils.redact import redact

                raise fail(redact(_message(exc, debug=debug))) from exc

    if adds_debug and signature is not None:
        option: Any = Annotated[bool, typer.Option('--debug', help=_DEBUG_HELP)]
        param = inspect.Parameter('debug', inspect.Parameter.KEYWORD_ONLY, default=False, annotation=option)
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), param]
        )
        wrapper.__annotations__ = {**func.__annotations__, 'debug': option}
    return wrapper


def _message(exc: BaseException, *, debug: bool = False) -> str:
    text = _one_line(exc)
    if isinstance(exc, ActionNotFoundError) and 'available' in exc.details and 'available actions:' not in text:
        available = ', '.join(exc.details['available']) or 'none'
        text = f'{text}; available actions: {available}'
    if isinstance(exc, ExecutionError | StepError) and not debug:
        from synapse_sdk.plugins._tracebacks import user_frame

        where = user_frame(exc)
        text = f'{text} ({where})' if where else text
        text = f'{text}; {DEBUG_HINT}'
    return text


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return ' '.join(text.split('\n')) if len(text) < 400 else text
