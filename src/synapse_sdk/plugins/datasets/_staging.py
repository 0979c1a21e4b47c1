"""Atomic output: build in a temporary folder beside the target, move into place at the end.

Output files are created once each by :class:`ImagePlacer` (inline or in a helper process).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._filer import FileHelper, copy_file, place_copy, write_file
from synapse_sdk.plugins.datasets.formats import ImageMode

__all__ = ['ImagePlacer', 'Staging', 'copy_file', 'write_file']


class Staging:
    """``with Staging(dst) as tmp:`` write under ``tmp``; on success it becomes ``dst``, on error it is removed."""

    def __init__(self, target: Path, *, overwrite: bool = False) -> None:
        self.target = Path(os.path.abspath(target))
        self.overwrite = overwrite
        self.path: Path | None = None

    def __enter__(self) -> Path:
        if self.target.exists() and not self.overwrite:
            if not self.target.is_dir() or any(self.target.iterdir()):
                raise ValidationError(
                    f'Output {self.target} already exists and is not empty; choose another folder or pass overwrite',
                    {'output': str(self.target)},
                )
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f'.{self.target.name}.', suffix='.partial', dir=self.target.parent))
        return self.path

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.path is not None
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        backup: Path | None = None
        if self.target.exists() or self.target.is_symlink():
            backup = self.target.with_name(f'.{self.target.name}.{os.getpid()}.old')
            os.replace(self.target, backup)
        os.replace(self.path, self.target)
        if backup is not None:
            if backup.is_dir() and not backup.is_symlink():
                shutil.rmtree(backup, ignore_errors=True)
            else:
                backup.unlink(missing_ok=True)


class ImagePlacer:
    """Creates the output files of items: label / annotation files and images (copy, hard link or symlink).

    Inline, small copies run in this thread (a thread pool made 5,000 small local copies 16x slower here:
    directory-lock and GIL contention) and files of :data:`BIG` bytes or more go to a pool of ``limit``
    threads. With ``helper=True`` file writes and copies go to a :class:`FileHelper` process instead (same
    rules there), so that the kernel's file creation overlaps this process's parsing.
    """

    def __init__(self, mode: ImageMode, limit: int = 8, *, helper: bool = False) -> None:
        self.mode = mode
        self.limit = limit
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._made: set[str] = set()
        # two helpers, started on first use, one for writes and one for copies: every file creation pays the
        # kernel's inode search; with the parsing here that is work for three (bench/RESULTS.md: 1.1 s -> 0.87 s)
        self._helper = helper and FileHelper.available()
        self._writer: FileHelper | None = None
        self._copier: FileHelper | None = None

    def write(self, path: str | os.PathLike[str], data: bytes) -> None:
        """Create ``path`` (inside the staging folder) with ``data``."""
        if self._writer is None and self._helper:
            self._writer = self._start()
        if self._writer is not None:
            self._writer.write(os.fspath(path), data)
        else:
            write_file(path, data)

    def _start(self) -> FileHelper | None:
        try:
            return FileHelper(self.limit)
        except OSError:
            self._helper = False  # no interpreter to start: work inline
            return None

    def place(self, source: Path, dest: str | os.PathLike[str]) -> None:
        """Make ``source`` appear at ``dest`` (a no-op for ``images='none'``)."""
        if self.mode is ImageMode.NONE:
            return
        dest_text = os.fspath(dest)
        parent = os.path.dirname(dest_text)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        if self.mode is ImageMode.SYMLINK:
            os.symlink(os.path.abspath(source), dest_text)
            return
        if self.mode is ImageMode.LINK:
            try:
                os.link(source, dest_text)
                return
            except OSError:
                pass  # another file system, or links not allowed: copy instead
        if self._copier is None and self._helper:
            self._copier = self._start()
        if self._copier is not None:
            self._copier.copy(os.fspath(source), dest_text)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix='dataset-images')
        future = place_copy(source, dest_text, self._pool)
        if future is not None:
            self._futures.append(future)
            if len(self._futures) >= 4 * self.limit:  # at most 4 * limit big copies in flight
                self._futures.pop(0).result()

    def close(self) -> None:
        """Wait for pending writes and copies; re-raise the first failure."""
        helpers = self._helpers()
        try:
            for helper in helpers:
                helper.finish()
            for future in self._futures:
                future.result()
        finally:
            for helper in helpers:
                helper.abort()  # a no-op for a finished one; stops the others if one failed
            self.abort()

    def abort(self) -> None:
        """Stop: nothing is written after this returns (the staging folder is about to be removed)."""
        for helper in self._helpers():
            helper.abort()
        if self._pool is not None:
            for future in self._futures:
                future.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None
        self._futures.clear()

    def _helpers(self) -> list[FileHelper]:
        """The running helpers, handed over (each is finished or aborted once)."""
        helpers = [h for h in (self._writer, self._copier) if h is not None]
        self._writer = self._copier = None
        return helpers
