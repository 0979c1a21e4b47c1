"""The resume ledger: which tasks a job already wrote, so a re-run neither redoes nor duplicates them.

One JSON-lines file per job key under ``<state dir>/to_task/``. For each task the worker appends
an ``intent`` (hash of the data about to be written) before the PUT and ``done`` after it;
failures are appended too. Lines are flushed as written, so a killed process loses at most the
line it was writing, and a torn last line is ignored on load.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


def state_dir() -> Path:
    """``SYNAPSE_STATE_DIR``, default ``~/.synapse/state``."""
    return Path(os.environ.get('SYNAPSE_STATE_DIR') or Path.home() / '.synapse' / 'state')


def data_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON form of ``data``."""
    text = json.dumps(data, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def job_key(
    host: str,
    project: int,
    task_filters: dict[str, Any],
    method: str,
    source: Any,
    pre_processor_params: dict[str, Any],
    schema: str,
) -> str:
    """The job's identity: what it annotates and how (not its name, width or timings)."""
    return data_hash([host.rstrip('/'), project, task_filters, method, source, pre_processor_params, schema])


@dataclass
class LedgerState:
    """What earlier runs recorded."""

    done: set[int] = field(default_factory=set)
    intents: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


class Ledger:
    """Append-only record of a job's writes (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.state = self._load()
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None  # opened on the first write

    @classmethod
    def for_key(cls, key: str) -> Ledger:
        """The ledger of job ``key`` in the state directory."""
        return cls(state_dir() / 'to_task' / f'{key}.jsonl')

    def _load(self) -> LedgerState:
        state = LedgerState()
        if not self.path.exists():
            return state
        with self.path.open(encoding='utf-8') as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                    task_id, kind = int(record['t']), record['s']
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a killed run
                if kind == 'intent':
                    state.intents[task_id] = record['h']
                elif kind == 'done':
                    state.done.add(task_id)
                    state.intents.pop(task_id, None)
                    state.failed.pop(task_id, None)
                elif kind == 'failed':
                    state.failed[task_id] = record.get('e', '')
        return state

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(',', ':')) + '\n'
        with self._lock:
            if self._fh is None:
                self._fh = self.path.open('a', encoding='utf-8')
            self._fh.write(line)
            self._fh.flush()

    def intent(self, task_id: int, digest: str) -> None:
        """About to write data with hash ``digest`` to ``task_id``."""
        self._append({'t': task_id, 's': 'intent', 'h': digest})

    def done(self, task_id: int, digest: str) -> None:
        """``task_id`` holds the data with hash ``digest``."""
        self._append({'t': task_id, 's': 'done', 'h': digest})

    def failed(self, task_id: int, error: str) -> None:
        """``task_id`` could not be annotated."""
        self._append({'t': task_id, 's': 'failed', 'e': error})

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
