"""Rich rendering for the ``synapse plugin`` commands: a progress logger, results, reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from synapse_sdk.cli.errors import state
from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers import BaseLogger, LogEntry, ProgressRecord
from synapse_sdk.loggers._console import format_eta

if TYPE_CHECKING:
    from synapse_sdk.plugins._config_sync import ConfigSyncResult
    from synapse_sdk.plugins.smoke import ActionCheck

_STYLES = {
    LogLevel.DEBUG: 'dim',
    LogLevel.SUCCESS: 'green',
    LogLevel.WARNING: 'yellow',
    LogLevel.ERROR: 'red',
    LogLevel.CRITICAL: 'bold red',
}
_OVERALL = 'overall'


def err_console() -> Console:
    """A console on stderr (resolved when written to, so test runners can capture it)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


class _EtaColumn(ProgressColumn):
    """The ETA the logger computed for the step (elapsed / done * remaining)."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text('done', style='green')
        return Text(f'ETA {format_eta(task.fields.get("eta"))}', style='cyan')


class _RateColumn(ProgressColumn):
    """Items per second of a step counted in items (a step's ``total`` above 1), e.g. ``42.1 tasks/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed or not task.total or task.total <= 1 or task.description.strip() == 'overall':
            return Text('')
        return Text(f'{speed:.1f} /s', style='magenta')


class RichProgressLogger(BaseLogger):
    """Drives a rich progress bar per step from ``set_progress``; events print above the bars.

    Args:
        console: where bars and events go (stderr by default, keeping stdout for the result).
        verbose: also show debug events and metrics.
    """

    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        super().__init__()
        self.console = console or err_console()
        self.verbose = verbose
        self._bars: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def _live_bars(self) -> Progress:
        if self._bars is None:
            self._bars = Progress(
                TextColumn('{task.description}'),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn('{task.completed:g}/{task.total:g}'),
                _RateColumn(),
                _EtaColumn(),
                console=self.console,
            )
            self._bars.start()
        return self._bars

    def _print(self, text: str, style: str | None) -> None:
        target = self._bars.console if self._bars is not None else self.console
        target.print(text, style=style, markup=False, highlight=False)

    def _emit(self, entry: LogEntry) -> None:
        if entry.level is LogLevel.DEBUG and not self.verbose:
            return
        data = entry.data
        if entry.event == 'message':
            text = str(data.get('content', ''))
        elif set(data) == {'message'}:
            text = str(data['message'])
        else:
            text = f'{entry.event} {json.dumps(data, default=str, ensure_ascii=False)}'
        if entry.level is LogLevel.WARNING and not state.echoes.first(' '.join(text.split()), 'run'):
            return  # the same warning just printed from the `synapse_sdk` logger
        prefix = f'[{entry.step}] ' if entry.step else ''
        self._print(prefix + text, _STYLES.get(entry.level))

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        bars = self._live_bars()
        if step not in self._tasks:
            label = 'progress' if step == '__default__' else step
            self._tasks[step] = bars.add_task(label, total=record.total)
        bars.update(self._tasks[step], completed=record.current, total=record.total, eta=record.eta_seconds)

    def _emit_overall(self, percent: float) -> None:
        bars = self._live_bars()
        if _OVERALL not in self._tasks:
            self._tasks[_OVERALL] = bars.add_task(_OVERALL, total=100)
        bars.update(self._tasks[_OVERALL], completed=percent, eta=None)

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        if self.verbose:
            self._print(f'{step} metrics {json.dumps(metrics, default=str)}', 'magenta')

    def _on_finish(self) -> None:
        if self._bars is not None:
            self._bars.stop()


def print_result(result: Any) -> None:
    """The result as JSON on stdout (models dumped, anything else made JSON-able)."""
    from pydantic_core import to_jsonable_python

    typer.echo(json.dumps(to_jsonable_python(result, fallback=str), indent=2, ensure_ascii=False))


def print_outcome(result: Any, code: int) -> None:
    """For a result with per-item counts: a table of them on stderr, and what the exit code means."""
    data = result.model_dump() if hasattr(result, 'model_dump') else result
    if not isinstance(data, dict) or not isinstance(data.get('failed_count'), int):
        return
    console = err_console()
    table = Table('status', 'total', 'succeeded', 'failed', 'skipped')
    status = str(data.get('status', ''))
    colour = 'red' if code == 1 else 'yellow' if code else 'green'
    table.add_row(
        f'[{colour}]{status}[/]',
        *(str(data.get(key, '')) for key in ('total_tasks', 'success_count', 'failed_count', 'skipped_count')),
    )
    console.print(table)
    if code == 1:
        console.print(f'[red]Exit code 1: the run failed ({data["failed_count"]} failed).[/]', soft_wrap=True)
    elif code:
        console.print(
            f'[yellow]Exit code {code}: the run finished with {data["failed_count"]} failed item(s); '
            'see "failures" in the result.[/]',
            soft_wrap=True,
        )


def print_checks(checks: Sequence[ActionCheck]) -> None:
    """A table of action verdicts, then a one-line summary."""
    console = Console(highlight=False)
    table = Table('action', 'status', 'seconds', 'detail')
    colours = {'passed': 'green', 'failed': 'red', 'skipped': 'yellow'}
    for check in checks:
        status = f'[{colours[check.status.value]}]{check.status.value.upper()}[/]'
        table.add_row(check.action, status, f'{check.seconds:.2f}', Text(check.detail))
    console.print(table)
    counts = {s: sum(1 for c in checks if c.status.value == s) for s in ('passed', 'failed', 'skipped')}
    console.print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')


def print_sync(result: ConfigSyncResult) -> None:
    """What ``update-config`` changed, and configured actions the source lacks."""
    console = Console(highlight=False)
    if result.changes:
        console.print(f'Updated {result.file}:', markup=False)
        for change in result.changes:
            console.print(f'  - {change}', markup=False)
    else:
        console.print(f'{result.file} is up to date', markup=False)
    for line in result.unmatched:
        err_console().print(f'Warning: {line}', style='yellow', markup=False)
