"""The logger base class: validation, progress, metrics and step bookkeeping."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from synapse_sdk.enums import LogLevel

DEFAULT_STEP = '__default__'


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One structured event."""

    level: LogLevel
    event: str
    data: dict[str, Any]
    step: str | None = None
    file: str | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``datetime`` as ISO 8601)."""
        out: dict[str, Any] = {
            'event': self.event,
            'level': self.level.value,
            'data': self.data,
            'datetime': self.timestamp.isoformat(),
        }
        if self.step is not None:
            out['step'] = self.step
        if self.file is not None:
            out['file'] = self.file
        return out


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    """Progress of one step."""

    current: int | float
    total: int | float
    percent: float
    eta_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {'current': self.current, 'total': self.total, 'percent': self.percent, 'eta_seconds': self.eta_seconds}


class BaseLogger:
    """Keeps progress and metrics per step; subclasses decide where entries go.

    Subclasses override the ``_emit*`` hooks; they never need to re-validate input.
    """

    def __init__(self) -> None:
        self._finished = False
        self._current_step: str | None = None
        self._progress: dict[str, ProgressRecord] = {}
        self._started: dict[str, float] = {}
        self._metrics: dict[str, dict[str, Any]] = {}
        self._clamp_warned: set[str] = set()
        self.step_proportions: dict[str, float] = {}
        self.overall_percent: float | None = None

    # ------------------------------------------------------------------ events
    def log(
        self,
        level: LogLevel | str,
        event: str,
        data: Mapping[str, Any] | None = None,
        file: str | None = None,
        step: str | None = None,
    ) -> LogEntry:
        """Record a structured event."""
        self._check_open()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise TypeError(f'data must be a dict (a mapping of names to values), got {type(data).__name__}')
        entry = LogEntry(LogLevel(level), event, dict(data), step or self._current_step, file)
        self._emit(entry)
        return entry

    def debug(self, message: str) -> None:
        """Log ``message`` at debug level."""
        self.log(LogLevel.DEBUG, 'debug', {'message': message})

    def info(self, message: str) -> None:
        """Log ``message`` at info level."""
        self.log(LogLevel.INFO, 'info', {'message': message})

    def warning(self, message: str) -> None:
        """Log ``message`` at warning level."""
        self.log(LogLevel.WARNING, 'warning', {'message': message})

    def error(self, message: str) -> None:
        """Log ``message`` at error level."""
        self.log(LogLevel.ERROR, 'error', {'message': message})

    def critical(self, message: str) -> None:
        """Log ``message`` at critical level."""
        self.log(LogLevel.CRITICAL, 'critical', {'message': message})

    # ------------------------------------------------------------------ steps and progress
    @property
    def current_step(self) -> str | None:
        """The step that progress and metrics default to."""
        return self._current_step

    def set_step(self, step: str | None) -> None:
        """Make ``step`` the default for later progress and metrics calls."""
        self._current_step = step

    def set_progress(self, current: float, total: float, step: str | None = None) -> ProgressRecord:
        """Record progress of a step; ``current > total`` is clamped with one warning per step."""
        self._check_open()
        if total <= 0:
            raise ValueError(f'total must be > 0, got {total}')
        if current < 0:
            raise ValueError(f'current must be >= 0, got {current}')
        key = step or self._current_step or DEFAULT_STEP
        if current > total:
            if key not in self._clamp_warned:
                self._clamp_warned.add(key)
                self.warning(f"Progress {current}/{total} for step '{key}' exceeds the total; clamped to {total}")
            current = total
        now = time.monotonic()
        started = self._started.setdefault(key, now)
        eta = None if current == 0 else round((now - started) / current * (total - current), 3)
        record = ProgressRecord(current, total, round(current / total * 100, 2), eta)
        self._progress[key] = record
        self._emit_progress(key, record)
        return record

    def set_overall_progress(self, percent: float) -> None:
        """Record the weighted progress of a whole step workflow (never decreases)."""
        self._check_open()
        percent = max(0.0, min(100.0, float(percent)))
        if self.overall_percent is None or percent >= self.overall_percent:
            self.overall_percent = percent
            self._emit_overall(percent)

    def get_progress(self, step: str | None = None) -> ProgressRecord | None:
        """The latest progress of ``step`` (default: the current step)."""
        return self._progress.get(step or self._current_step or DEFAULT_STEP)

    @property
    def progress(self) -> dict[str, ProgressRecord]:
        """Latest progress of every step."""
        return dict(self._progress)

    # ------------------------------------------------------------------ metrics
    def set_metrics(self, value: Mapping[str, Any], step: str | None = None) -> dict[str, Any]:
        """Merge ``value`` into the metrics of ``step`` (default: the current step)."""
        self._check_open()
        if not isinstance(value, Mapping):
            raise TypeError(f'metrics must be a dict of names to values, got {type(value).__name__}')
        key = step or self._current_step
        if key is None:
            raise ValueError('step must be specified or set via set_step()')
        merged = self._metrics.setdefault(key, {})
        merged.update(value)
        self._emit_metrics(key, dict(merged))
        return dict(merged)

    def get_metrics(self, step: str | None = None) -> dict[str, Any]:
        """Metrics recorded for ``step`` (default: the current step)."""
        key = step or self._current_step
        return dict(self._metrics.get(key, {})) if key else {}

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Metrics of every step."""
        return {k: dict(v) for k, v in self._metrics.items()}

    # ------------------------------------------------------------------ lifecycle
    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` was called."""
        return self._finished

    def finish(self) -> None:
        """Flush and close; any later call raises ``RuntimeError``. Calling it twice is harmless."""
        if self._finished:
            return
        try:
            self._on_finish()
        finally:
            self._finished = True

    def _check_open(self) -> None:
        if self._finished:
            raise RuntimeError('Cannot log to a finished logger')

    # ------------------------------------------------------------------ hooks
    def _emit(self, entry: LogEntry) -> None:
        """Deliver an event."""

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        """Deliver a progress update."""

    def _emit_overall(self, percent: float) -> None:
        """Deliver an overall-progress update."""

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        """Deliver merged metrics."""

    def _on_finish(self) -> None:
        """Flush anything buffered."""
