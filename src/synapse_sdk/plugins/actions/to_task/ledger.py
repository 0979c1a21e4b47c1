"""The resume ledger: which tasks a job already wrote, so a re-run neither redoes nor duplicates them.

One JSON-lines file per job key under ``<state dir>/to_task/``. For each task the worker appends
an ``intent`` (hash of the data about to be written) before the PUT and ``done`` after it;
failures are appended too. An intent or a ``failed`` line reaches the file before the call that
records it returns, together with the ``done`` lines queued since the last write (one ``write``
per task), so a killed process loses at most some ``done`` lines, which a re-run recovers from
the intents (the data is in place); a failure is never lost, so ``retry_failed`` finds it.
A ``done`` record keeps the hash of what was written: before a task is skipped as done, the data it
holds now is compared with it, and a task changed since (by hand, by another tool) is annotated again.
On open, a torn last line is cut off (or, if whole, given its newline) so the next append starts
on a line of its own. A failed ``write`` keeps every line it did not complete queued for the next
one, which first ends a line it left torn, so no record is lost or glued to another.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_PENDING = 256  #: queued ``done`` lines written at once even without an intent


def state_dir() -> Path:
    """``SYNAPSE_STATE_DIR``, default ``~/.synapse/state``."""
    return Path(os.environ.get('SYNAPSE_STATE_DIR') or Path.home() / '.synapse' / 'state')


def data_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON form of ``data``."""
    text = json.dumps(data, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def job_key(
    backend: str,
    project: int,
    task_filters: dict[str, Any],
    method: str,
    source: Any,
    pre_processor_params: dict[str, Any],
    schema: str,
    plugin: Any = None,
) -> str:
    """The job's identity: which backend (its identity, not a URL spelling), what it annotates and how,
    and with which plugin code (code, version, a digest of the hooks' source); not its name, width or timings.
    """
    return data_hash([backend, project, task_filters, method, source, pre_processor_params, schema, plugin])


def _parse(line: str) -> dict[str, Any] | None:
    """A ledger record (``t`` an int, ``s`` its kind), or None when the line is not a whole record."""
    try:
        record = json.loads(line)
        record['t'] = int(record['t'])
        if record['s'] in ('intent', 'done'):
            record['h'] = str(record['h'])
    except (ValueError, KeyError, TypeError):
        return None
    return record


def _line(task_id: int, kind: str, digest: str) -> bytes:
    """An ``intent``/``done`` line (the same bytes ``json.dumps`` writes for it, built directly)."""
    if type(task_id) is int and digest.isalnum() and digest.isascii():
        return f'{{"t":{task_id},"s":"{kind}","h":"{digest}"}}\n'.encode('ascii')
    return (json.dumps({'t': task_id, 's': kind, 'h': digest}, separators=(',', ':')) + '\n').encode('utf-8')


@dataclass
class LedgerState:
    """What earlier runs recorded."""

    done: dict[int, str] = field(default_factory=dict)  #: task id -> hash of the data written
    intents: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


class Ledger:
    """Append-only record of a job's writes (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.state = self._load()
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._fd: int | None = None  # opened on the first write
        self._torn = False  # a failed write left the file ending mid-line

    @classmethod
    def for_key(cls, key: str) -> Ledger:
        """The ledger of job ``key`` in the state directory."""
        return cls(state_dir() / 'to_task' / f'{key}.jsonl')

    def _load(self) -> LedgerState:
        state = LedgerState()
        if not self.path.exists():
            return state
        self._mend_last_line()
        with self.path.open(encoding='utf-8', errors='replace') as fh:
            for line in fh:
                record = _parse(line)
                if record is None:
                    continue  # not one of ours (a hand edit, say)
                task_id, kind = record['t'], record['s']
                if kind == 'intent':
                    state.intents[task_id] = record['h']
                elif kind == 'done':
                    state.done[task_id] = record['h']
                    state.intents.pop(task_id, None)
                    state.failed.pop(task_id, None)
                elif kind == 'failed':
                    state.failed[task_id] = str(record.get('e', ''))
        return state

    def _mend_last_line(self) -> None:
        """A run killed mid-write leaves a last line without ``\\n``: the next append would be glued to it.

        A complete record just missing its newline gets one; a torn fragment is cut off.
        """
        with self.path.open('rb+') as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(max(0, size - 1))
            if fh.read(1) == b'\n':
                return
            start = max(0, size - 4096)
            while True:  # find the start of the last line
                fh.seek(start)
                cut = fh.read(size - start).rfind(b'\n')
                if cut >= 0 or start == 0:
                    break
                start = max(0, start - 4096)
            line_start = start + cut + 1 if cut >= 0 else 0
            fh.seek(line_start)
            tail = fh.read()
            if _parse(tail.decode('utf-8', errors='replace')) is not None:
                fh.write(b'\n')
            else:
                fh.truncate(line_start)

    def _append(self, line: bytes, *, now: bool) -> None:
        """Queue a line; with ``now`` write every queued line (one ``write`` to an ``O_APPEND`` file)."""
        with self._lock:
            self._pending.append(line)
            if now or len(self._pending) >= MAX_PENDING:
                self._write()

    def _write(self) -> None:
        """Write every queued line; on an error the lines not wholly written stay queued for the next write."""
        if not self._pending:
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        data = b''.join(self._pending)
        if self._torn:  # end the fragment a failed write left, so it is a (skipped) line of its own
            data = b'\n' + data
        view, written = memoryview(data), 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError:
            self._keep_unwritten(written)
            raise
        self._torn = False
        self._pending.clear()

    def _keep_unwritten(self, written: int) -> None:
        """After a failed write of which ``written`` bytes reached the file: drop the lines it completed."""
        if self._torn:
            if written == 0:
                return
            written -= 1
            self._torn = False
        while self._pending and written >= len(self._pending[0]):
            written -= len(self._pending.pop(0))
        if written:
            self._torn = True  # the file ends inside the next line: it is written again, whole

    def intent(self, task_id: int, digest: str) -> None:
        """About to write data with hash ``digest`` to ``task_id``: on disk before this returns."""
        self._append(_line(task_id, 'intent', digest), now=True)

    def done(self, task_id: int, digest: str) -> None:
        """``task_id`` holds the data with hash ``digest`` (written with the next intent, or at close).

        Losing it to a kill is harmless: the intent is on disk and a re-run finds the data in place.
        """
        self._append(_line(task_id, 'done', digest), now=False)

    def failed(self, task_id: int, error: str) -> None:
        """``task_id`` could not be annotated: on disk before this returns (``retry_failed`` reads it)."""
        line = json.dumps({'t': task_id, 's': 'failed', 'e': error}, separators=(',', ':')) + '\n'
        self._append(line.encode('utf-8'), now=True)

    def flush(self) -> None:
        """Write every queued line."""
        with self._lock:
            self._write()

    def close(self) -> None:
        """Write what is queued and close the file."""
        with self._lock:
            try:
                self._write()
            finally:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
