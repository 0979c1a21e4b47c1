"""A logger that prints to the terminal with rich (imported lazily)."""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers._base import BaseLogger, LogEntry, ProgressRecord

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {
    LogLevel.DEBUG: 'dim',
    LogLevel.INFO: '',
    LogLevel.SUCCESS: 'green',
    LogLevel.WARNING: 'yellow',
    LogLevel.ERROR: 'red',
    LogLevel.CRITICAL: 'bold red',
}


def format_eta(seconds: float | None) -> str:
    """``'1m 05s'`` style; ``'--'`` when unknown."""
    if seconds is None:
        return '--'
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f'{hours}h {minutes:02d}m'
    if minutes:
        return f'{minutes}m {secs:02d}s'
    return f'{secs}s'


class ConsoleLogger(BaseLogger):
    """Prints events, throttled progress lines with ETA, and metrics.

    Colour is used only when the stream is a terminal. Debug events are hidden unless
    ``verbose=True``.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        verbose: bool = False,
        progress_interval: float = 0.5,
        console: Console | None = None,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._console = console
        self.verbose = verbose
        self.progress_interval = progress_interval
        self._last_progress: dict[str, float] = {}

    @property
    def console(self) -> Console:
        """The rich console (created on first use)."""
        if self._console is None:
            from rich.console import Console

            stream = self._stream or sys.stderr
            self._console = Console(file=stream, highlight=False, soft_wrap=True)
        return self._console

    def _print(self, text: str, style: str = '') -> None:
        self.console.print(text, style=style or None, markup=False)

    def _emit(self, entry: LogEntry) -> None:
        if entry.level is LogLevel.DEBUG and not self.verbose:
            return
        data = entry.data
        if entry.event == 'message':
            text = str(data.get('content', ''))
        elif set(data) == {'message'}:
            text = str(data['message'])
        else:
            text = f'{entry.event} {_compact(data)}'
        prefix = f'[{entry.step}] ' if entry.step else ''
        self._print(f'{prefix}{text}', _STYLES.get(entry.level, ''))

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        now = time.monotonic()
        done = record.current >= record.total
        if not done and now - self._last_progress.get(step, -1e9) < self.progress_interval:
            return
        self._last_progress[step] = now
        name = '' if step == '__default__' else f'[{step}] '
        self._print(
            f'{name}Progress: {record.percent:.1f}% ({record.current}/{record.total}) '
            f'ETA {format_eta(record.eta_seconds)}',
            'cyan',
        )

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        if self.verbose:
            self._print(f'{step} metrics {_compact(metrics)}', 'magenta')


def _compact(data: dict[str, Any]) -> str:
    import json

    text = json.dumps(data, default=str, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + '...'
