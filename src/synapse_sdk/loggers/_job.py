"""Loggers that report a run to the backend job it belongs to.

:class:`BackendLogger` never blocks the action: entries are appended to a buffer under a lock and
a background thread sends them — ``POST logs/`` in batches (200 entries, or every 2 s) and at most
one coalesced ``PATCH jobs/{id}/`` per second carrying the latest progress and metrics records.
:meth:`~BaseLogger.finish` flushes everything. :class:`JobLogger` also echoes to stdout.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from synapse_sdk.loggers._base import BaseLogger, LogEntry, ProgressRecord
from synapse_sdk.loggers._console import ConsoleLogger
from synapse_sdk.utils.redact import redact

__all__ = ['BackendLogger', 'JobLogger']

_log = logging.getLogger('synapse_sdk')

#: Files attached to log entries are sent inline (a data URI) up to this size.
MAX_INLINE_FILE_BYTES = 1024 * 1024


class JobReportingClient(Protocol):
    """What the job loggers need of a backend client."""

    def update_job(self, job_id: int | str, data: Mapping[str, Any]) -> Any: ...

    def create_logs(self, entries: list[dict[str, Any]]) -> Any: ...


class BackendLogger(BaseLogger):
    """Sends events, progress and metrics of a run to ``jobs/{job_id}/`` and ``logs/``.

    Args:
        backend: a client with ``update_job(job_id, data)`` and ``create_logs(entries)``.
        job_id: the backend job the run belongs to.
        patch_interval: at most one ``PATCH jobs/{id}/`` per this many seconds.
        log_batch_size: ``POST logs/`` as soon as this many entries are waiting.
        log_interval: ``POST logs/`` at least this often while entries are waiting.
        mark_running: send ``status: RUNNING`` with the first PATCH.
    """

    def __init__(
        self,
        backend: JobReportingClient,
        job_id: int | str,
        *,
        patch_interval: float = 1.0,
        log_batch_size: int = 200,
        log_interval: float = 2.0,
        mark_running: bool = True,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.job_id = job_id
        self.patch_interval = patch_interval
        self.log_batch_size = log_batch_size
        self.log_interval = log_interval
        self.send_errors = 0
        self._job_ref: int | str = int(job_id) if str(job_id).isdigit() else job_id
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._entries: list[dict[str, Any]] = []
        self._patch: dict[str, Any] = {'status': 'RUNNING'} if mark_running else {}
        self._steps: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] = {}
        self._overall = 0.0
        self._stopping = False
        self._last_patch = 0.0
        self._first_entry_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f'synapse-job-{job_id}', daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ hooks (action thread: never blocks)
    def _emit(self, entry: LogEntry) -> None:
        record = entry.to_dict()
        record['job'] = self._job_ref
        if entry.file is not None:
            encoded = _data_uri(entry.file)
            if encoded is None:
                record.pop('file')
            else:
                record['file'] = encoded
        with self._wake:
            if self._first_entry_at is None:
                self._first_entry_at = time.monotonic()
            self._entries.append(record)
            if len(self._entries) >= self.log_batch_size:
                self._wake.notify()

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        with self._wake:
            state = self._steps.setdefault(step, {})
            state.update(record.to_dict())
            if step in self.step_proportions:
                state['proportion'] = self.step_proportions[step]
            overall = self._weighted_overall(step, record.percent)
            self._overall = max(self._overall, overall)
            self._current = {
                'overall': self._overall,
                'step': step,
                'percent': record.percent,
                'time_remaining': record.eta_seconds,
            }
            self._patch['progress_record'] = self._progress_record()

    def _emit_overall(self, percent: float) -> None:
        with self._wake:
            self._overall = max(self._overall, round(percent, 2))
            self._current = {**self._current, 'overall': self._overall}
            self._patch['progress_record'] = self._progress_record()

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        with self._wake:
            steps = dict(self._patch.get('metrics_record', {}).get('record', {}).get('steps', {}))
            steps[step] = dict(metrics)
            self._patch['metrics_record'] = {'record': {'steps': steps}}

    def _on_finish(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            _log.warning(
                'Job %s: the reporting thread did not finish within 30 s; some entries may be lost', self.job_id
            )

    # ------------------------------------------------------------------ records
    def _weighted_overall(self, step: str, percent: float) -> float:
        proportions = self.step_proportions
        if not proportions:
            return self.overall_percent if self.overall_percent is not None else percent
        total = sum(proportions.values()) or 1.0
        done = 0.0
        for name, weight in proportions.items():
            step_percent = percent if name == step else float(self._steps.get(name, {}).get('percent', 0.0))
            done += weight * step_percent / 100
        return round(done / total * 100, 2)

    def _progress_record(self) -> dict[str, Any]:
        steps = {name: dict(state) for name, state in self._steps.items()}
        return {'record': {'steps': steps}, 'current_progress': dict(self._current)}

    # ------------------------------------------------------------------ background thread
    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._stopping:
                    self._wake.wait(timeout=self._next_wait())
                stopping = self._stopping
                batches = self._take_batches(stopping)
                patch = self._take_patch(stopping)
            for batch in batches:
                self._send(self.backend.create_logs, batch)
            if patch:
                self._send(lambda data: self.backend.update_job(self.job_id, data), patch)
            if stopping:
                return

    def _next_wait(self) -> float:
        waits = [self.log_interval]
        if self._patch:
            waits.append(max(0.0, self.patch_interval - (time.monotonic() - self._last_patch)))
        if self._first_entry_at is not None:
            waits.append(max(0.0, self.log_interval - (time.monotonic() - self._first_entry_at)))
        return max(0.01, min(waits))

    def _take_batches(self, force: bool) -> list[list[dict[str, Any]]]:
        """Full batches of ``log_batch_size``; everything waiting when forced or overdue."""
        if not self._entries:
            return []
        size = max(1, self.log_batch_size)
        due = self._first_entry_at is not None and time.monotonic() - self._first_entry_at >= self.log_interval
        count = len(self._entries) if force or due else len(self._entries) // size * size
        if count == 0:
            return []
        taken, self._entries = self._entries[:count], self._entries[count:]
        self._first_entry_at = time.monotonic() if self._entries else None
        return [taken[i : i + size] for i in range(0, len(taken), size)]

    def _take_patch(self, force: bool) -> dict[str, Any]:
        if not self._patch or not (force or time.monotonic() - self._last_patch >= self.patch_interval):
            return {}
        patch, self._patch = self._patch, {}
        self._last_patch = time.monotonic()
        return patch

    def _send(self, call: Callable[[Any], Any], payload: Any) -> None:
        try:
            call(payload)
        except Exception as exc:  # reporting must never break the run
            self.send_errors += 1
            _log.warning('Job %s: could not report to the backend: %s', self.job_id, redact(str(exc)))


class JobLogger(BackendLogger):
    """:class:`BackendLogger` that also prints every event to stdout (the job's console log)."""

    def __init__(self, client: JobReportingClient, job_id: int | str, **options: Any) -> None:
        self._echo = ConsoleLogger(sys.stdout)
        super().__init__(client, job_id, **options)

    def _emit(self, entry: LogEntry) -> None:
        super()._emit(entry)
        self._echo._emit(entry)

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        super()._emit_progress(step, record)
        self._echo._emit_progress(step, record)

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        super()._emit_metrics(step, metrics)
        self._echo._emit_metrics(step, metrics)


def _data_uri(file: str) -> str | None:
    """A small file as a ``data:`` URI; None when missing or too large."""
    if file.startswith('data:'):
        return file
    path = Path(file)
    try:
        if not path.is_file() or path.stat().st_size > MAX_INLINE_FILE_BYTES:
            return None
        content = path.read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(path.name)[0] or 'application/octet-stream'
    return f'data:{mime};base64,{base64.b64encode(content).decode()}'
