"""A logger that appends JSON lines to a file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from synapse_sdk.loggers._base import BaseLogger, LogEntry, ProgressRecord


class JsonLinesLogger(BaseLogger):
    """Appends one JSON object per entry, progress update and metrics update to ``path``.

    Each line is written whole and flushed, so a crash never leaves a half line behind the
    last complete one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = self.path.open('a', encoding='utf-8')

    def _write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, default=str, ensure_ascii=False) + '\n')
        self._fh.flush()

    def _emit(self, entry: LogEntry) -> None:
        self._write({'type': 'event', **entry.to_dict()})

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        self._write({'type': 'progress', 'step': step, **record.to_dict()})

    def _emit_overall(self, percent: float) -> None:
        self._write({'type': 'overall_progress', 'percent': percent})

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        self._write({'type': 'metrics', 'step': step, 'metrics': metrics})

    def _on_finish(self) -> None:
        self._fh.close()
