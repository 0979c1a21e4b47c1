"""The per-run ledger of an upload: which data units (by key) are done, so a re-run skips them.

One JSON-lines file per run key under ``<state dir>/upload/``; each line ``{"k": key, "u": unit id,
"h": sha256 of the unit's files}`` is appended with one ``write`` to an ``O_APPEND`` file once the
unit (and its task) exist. A kill can lose at most the line being written: the re-run then finds
the unit on the backend by its key, so the ledger is a shortcut, never the only record.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from synapse_sdk.plugins.actions.to_task.ledger import data_hash, state_dir

__all__ = ['UploadLedger', 'run_key']


def run_key(backend: str, storage: str, params: dict[str, Any]) -> str:
    """A run's identity: the backend, the storage (provider and root, no credentials) and what it uploads where."""
    return data_hash([backend, storage, params])


class UploadLedger:
    """Append-only record of the data units a run made (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: dict[str, int] = {}
        self._lock = threading.Lock()
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def for_key(cls, key: str) -> UploadLedger:
        return cls(state_dir() / 'upload' / f'{key}.jsonl')

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        for line in data.splitlines():
            try:
                record = json.loads(line)
                self.done[str(record['k'])] = int(record['u'])
            except (ValueError, KeyError, TypeError):
                continue  # the torn line of a killed run
        if data and not data.endswith(b'\n'):  # end a torn line so the next record starts on its own
            with self.path.open('ab') as fh:
                fh.write(b'\n')

    def record(self, key: str, unit_id: int, digest: str) -> None:
        line = json.dumps({'k': key, 'u': unit_id, 'h': digest}, separators=(',', ':'), ensure_ascii=False) + '\n'
        data = line.encode('utf-8')
        with self._lock:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            self.done[key] = unit_id

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
