"""A rich live display of a pipeline run: one bar per action, the overall bar, the outcome."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.pipelines.models import PipelineProgress, PipelineStatus

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ['display_progress', 'display_progress_async', 'render_progress']

_STYLE = {
    PipelineStatus.PENDING: 'dim',
    PipelineStatus.RUNNING: 'cyan',
    PipelineStatus.COMPLETED: 'green',
    PipelineStatus.FAILED: 'red',
    PipelineStatus.CANCELLED: 'yellow',
}


def render_progress(progress: PipelineProgress) -> Any:
    """A rich table of one snapshot."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    title = f'Pipeline run {progress.run_id}' + (f' ({progress.name})' if progress.name else '')
    table = Table(title=title, title_justify='left', expand=False)
    table.add_column('#', justify='right')
    table.add_column('action')
    table.add_column('status')
    table.add_column('progress', width=32)
    table.add_column('%', justify='right')
    for index, action in enumerate(progress.actions):
        status = action.status.value + (' (checkpoint)' if action.restored else '')
        table.add_row(
            str(index + 1),
            action.name,
            f'[{_STYLE[action.status]}]{status}[/]',
            ProgressBar(total=100, completed=action.progress, width=30),
            f'{action.progress:.0f}',
        )
    table.add_row(
        '',
        '[bold]overall[/]',
        f'[{_STYLE[progress.status]}]{progress.status.value}[/]',
        ProgressBar(total=100, completed=progress.overall, width=30),
        f'{progress.overall:.0f}',
    )
    if progress.error:
        table.caption = f'[red]{progress.error}[/]'
    return table


def display_progress(snapshots: Iterable[PipelineProgress], *, console: Console | None = None) -> PipelineProgress:
    """Show each snapshot live (e.g. ``executor.stream_progress(run_id)``); returns the last one."""
    from rich.live import Live

    last: PipelineProgress | None = None
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        for snapshot in snapshots:
            last = snapshot
            live.update(render_progress(snapshot))
    if last is None:
        raise ValueError('display_progress: the progress stream was empty')
    return last


async def display_progress_async(
    snapshots: AsyncIterable[PipelineProgress], *, console: Console | None = None
) -> PipelineProgress:
    """:func:`display_progress` over an async stream (``executor.stream_progress_async(run_id)``)."""
    from rich.live import Live

    last: PipelineProgress | None = None
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        async for snapshot in snapshots:
            last = snapshot
            live.update(render_progress(snapshot))
    if last is None:
        raise ValueError('display_progress_async: the progress stream was empty')
    return last
