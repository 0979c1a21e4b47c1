"""The task-mode actor's class (plain Python; :mod:`.actor` turns it into a Ray actor)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Mapping
from typing import Any

from synapse_sdk.exceptions import ExecutionError
from synapse_sdk.utils.redact import add_secret, redact

__all__ = ['ActionWorker']


class ActionWorker:
    """Runs actions in one long-lived process whose working directory is the plugin's.

    :meth:`configure` sets the run environment once (credentials included); :meth:`run` then only
    carries the action and its params. Entrypoints are imported once and reused.
    """

    def __init__(self) -> None:
        self._environ: dict[str, str] = {}
        self._plugin_env: dict[str, str] = {}
        self._targets: dict[str, Any] = {}

    def ping(self) -> int:
        """The worker's process id (a cheap liveness check)."""
        return os.getpid()

    def configure(self, environ: Mapping[str, str], secrets: Mapping[str, str], plugin_env: Mapping[str, str]) -> None:
        """Set the process environment of later runs (secrets are registered for redaction)."""
        add_secret(*secrets.values())
        os.environ.update(environ)
        os.environ.update(secrets)
        self._environ = dict(environ)
        self._plugin_env = dict(plugin_env)

    def _target(self, target: Any) -> Any:
        if not isinstance(target, str):
            return target
        loaded = self._targets.get(target)
        if loaded is None:
            from synapse_sdk.plugins._loading import load_entrypoint

            loaded = self._targets[target] = load_entrypoint(target, os.getcwd())
        return loaded

    def run(
        self,
        target: Any,
        params: Mapping[str, Any],
        *,
        raw: bool = True,
        allow_unknown: bool | None = None,
        wrap_logger: Any = None,
    ) -> tuple[str, Any]:
        """``('ok', result)`` or ``('error', exception)``; action errors never kill the actor."""
        from synapse_sdk.plugins.entrypoint import result_payload, run_entrypoint

        environ = self._environ
        try:
            result = run_entrypoint(
                self._target(target),
                params,
                env=self._plugin_env,
                job_id=environ.get('SYNAPSE_JOB_ID'),
                report_job_id=environ.get('SYNAPSE_JOB_ID'),
                language=environ.get('SYNAPSE_LANGUAGE') or 'en',
                allow_unknown=allow_unknown,
                wrap_logger=wrap_logger,
            )
        except Exception as exc:
            return 'error', _portable(exc)
        return 'ok', result if raw else result_payload(result)

    def stream(
        self, target: Any, params: Mapping[str, Any], *, raw: bool = True, allow_unknown: bool | None = None
    ) -> Iterator[Any]:
        """:meth:`run` as a Ray streaming generator: batches of the run's log and progress updates, then its outcome."""
        from synapse_sdk.plugins.executors.ray._relay import relay_run

        yield from relay_run(
            lambda wrap: self.run(target, params, raw=raw, allow_unknown=allow_unknown, wrap_logger=wrap)
        )


def _portable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else an ExecutionError with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ExecutionError(f'Action execution failed: {type(exc).__name__}: {redact(str(exc))}')
    exc.__traceback__ = None
    return exc
