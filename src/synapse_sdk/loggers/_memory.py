"""Loggers that keep state but print nothing."""

from __future__ import annotations

from typing import Any

from synapse_sdk.loggers._base import BaseLogger, LogEntry, ProgressRecord


class NoOpLogger(BaseLogger):
    """Tracks progress and metrics, emits nothing."""


class MemoryLogger(BaseLogger):
    """Keeps every entry in memory; handy in tests and notebooks."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[LogEntry] = []
        self.progress_updates: list[tuple[str, ProgressRecord]] = []
        self.metric_updates: list[tuple[str, dict[str, Any]]] = []

    def events(self, name: str) -> list[LogEntry]:
        """Entries whose event is ``name``."""
        return [e for e in self.entries if e.event == name]

    def _emit(self, entry: LogEntry) -> None:
        self.entries.append(entry)

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        self.progress_updates.append((step, record))

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        self.metric_updates.append((step, metrics))
