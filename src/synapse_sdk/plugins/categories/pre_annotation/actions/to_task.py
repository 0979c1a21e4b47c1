"""Legacy ``ToTaskAction(run=..., params=...).start()`` (seed 001), a thin shim over the new action.

``run`` may be None, a :class:`RuntimeContext`, or any object with a ``client`` and optionally
``log``, ``log_message``, ``set_progress`` and ``set_metrics``; missing parts fall back to a
console logger and a client from the configured credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synapse_sdk.loggers import BaseLogger, ConsoleLogger, LogEntry, ProgressRecord
from synapse_sdk.plugins._backend import default_client
from synapse_sdk.plugins.actions.to_task import ToTaskAction as _ToTaskAction
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.executors._run import run_action, validate_params

__all__ = ['ToTaskAction']


class _RunLogger(BaseLogger):
    """Forwards to a legacy run object's logging methods, and to the console for what it lacks."""

    def __init__(self, run: Any) -> None:
        super().__init__()
        self._run = run
        self._console = ConsoleLogger()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> bool:
        method = getattr(self._run, name, None)
        if not callable(method):
            return False
        method(*args, **kwargs)
        return True

    def _emit(self, entry: LogEntry) -> None:
        if entry.event == 'message' and self._call('log_message', entry.data.get('content'), entry.data.get('context')):
            return
        if entry.event != 'message' and self._call('log', entry.event, entry.data):
            return
        self._console._emit(entry)

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        if not self._call('set_progress', record.current, record.total, category=step):
            self._console._emit_progress(step, record)

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        self._call('set_metrics', metrics, category=step)


class ToTaskAction:
    """``ToTaskAction(run=run, params=params).start()`` → the result as a dict."""

    action_class: type[_ToTaskAction] = _ToTaskAction

    def __init__(self, run: Any = None, params: Mapping[str, Any] | None = None) -> None:
        self.run = run
        self.params = dict(params or {})

    def _context(self) -> RuntimeContext:
        if isinstance(self.run, RuntimeContext):
            return self.run
        client = getattr(self.run, 'client', None)
        logger: BaseLogger = ConsoleLogger() if self.run is None else _RunLogger(self.run)
        return RuntimeContext(
            logger=logger,
            client=client,
            job_id=getattr(self.run, 'job_id', None),
            client_factory=None if client is not None else default_client,
        )

    def start(self) -> dict[str, Any]:
        """Run to_task; returns ``{status, message, total_tasks, success_count, failed_count, ...}``."""
        validated = validate_params(self.action_class, self.params)
        result = run_action(self.action_class, validated, self._context())
        return result.model_dump(mode='json')
