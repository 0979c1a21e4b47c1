"""The progress of ``synapse local import``: files and bytes done, and the rate, as a bar and a summary line."""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

__all__ = ['ImportProgress']


def _plan(folder: Path, specs: Sequence[str]) -> list[tuple[int, int]]:
    """``(files, bytes)`` of each data unit, in the order ``import_folder`` imports them (stems sorted)."""
    from synapse_sdk.local.transfer import group_by_stem, parse_specs

    try:
        units = group_by_stem(folder, parse_specs(specs)) if folder.is_dir() else {}
    except ValueError:
        return []  # import_folder reports the bad --spec
    plan = []
    for files in units.values():
        sizes = []
        for path in files.values():
            try:
                sizes.append(path.stat().st_size)
            except OSError:
                sizes.append(0)
        plan.append((len(sizes), sum(sizes)))
    return plan


class ImportProgress:
    """``with ImportProgress(console, folder, specs) as p: import_folder(..., progress=p.update)``.

    The bar shows only on a terminal (and not ``quiet``); :meth:`summary` is the line to print after.
    """

    def __init__(self, console: Console, folder: Path, specs: Sequence[str], *, quiet: bool = False) -> None:
        plan = _plan(folder, specs)
        self._files = list(accumulate(files for files, _size in plan))
        self._bytes = list(accumulate(size for _files, size in plan))
        self.total_files = self._files[-1] if self._files else 0
        self.total_bytes = self._bytes[-1] if self._bytes else 0
        self.done_units = 0
        self._bar = Progress(
            TextColumn('Importing'),
            BarColumn(),
            TextColumn('{task.fields[files]}/{task.fields[total_files]} files'),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=quiet or not console.is_terminal,
        )
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._elapsed: float | None = None

    def __enter__(self) -> ImportProgress:
        self._bar.start()
        self._task = self._bar.add_task('import', total=self.total_bytes or None, files=0, total_files=self.total_files)
        self._started = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._elapsed = time.monotonic() - self._started
        self._bar.stop()

    def update(self, done: int, total: int) -> None:
        """``import_folder``'s callback: ``done`` of ``total`` data units handled."""
        self.done_units = done
        if self._task is not None:
            self._bar.update(self._task, completed=self.done_bytes, files=self.done_files)

    @property
    def done_files(self) -> int:
        return self._files[min(self.done_units, len(self._files)) - 1] if self.done_units and self._files else 0

    @property
    def done_bytes(self) -> int:
        return self._bytes[min(self.done_units, len(self._bytes)) - 1] if self.done_units and self._bytes else 0

    def summary(self) -> str:
        """``Processed 12 files (3.4 MB) in 0.5 s, 6.8 MB/s``."""
        elapsed = self._elapsed if self._elapsed is not None else time.monotonic() - self._started
        rate = self.done_bytes / elapsed if elapsed > 0 else 0.0
        return (
            f'Processed {self.done_files} files ({decimal(self.done_bytes)}) in {elapsed:.1f} s, {decimal(int(rate))}/s'
        )
