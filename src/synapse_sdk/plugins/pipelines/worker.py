"""The worker side of a pipeline run: runs the actions on a thread, yields batches of its events.

Used as is by the in-process executor and inside the Ray actor of ``RayPipelineExecutor`` (a
streaming generator). Events are plain, picklable tuples:

- ``('action', index, name)`` before an action starts;
- the run logger's updates (``('progress', step, current, total)``, ``('log', ...)``, ...);
- ``('checkpoint', index, name, params, result)`` after an action finished (JSON-ready values);

and the last item is ``('done', events, outcome)`` with ``outcome`` either ``('ok', result, None)``
or ``('error', exception, failed_index)``.
"""

from __future__ import annotations

import pickle
import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from synapse_sdk.exceptions import ExecutionError
from synapse_sdk.plugins.pipelines.action_pipeline import ActionPipeline
from synapse_sdk.plugins.pipelines.checkpoint import jsonable
from synapse_sdk.utils.redact import redact

__all__ = ['pipeline_stream']

_DONE = 'done'
_URGENT = ('checkpoint', 'action')


def pipeline_stream(
    actions: list[Any],
    params: Mapping[str, Any],
    *,
    start: int = 0,
    last_result: Any = None,
    env: Mapping[str, Any] | None = None,
    language: str | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Run ``actions`` from ``start``; yield ``('events', batch)`` items, then ``('done', batch, outcome)``.

    Once ``cancel`` is set, no further action starts (the running one finishes).
    """
    from synapse_sdk.loggers import BaseLogger
    from synapse_sdk.plugins._backend import default_client
    from synapse_sdk.plugins.context import RuntimeContext
    from synapse_sdk.plugins.executors.ray._relay import RelayLogger

    updates: queue.Queue[tuple[Any, ...]] = queue.Queue()
    current = [start]

    def work() -> tuple[str, Any, int | None]:
        logger: BaseLogger = RelayLogger(updates.put)
        ctx = RuntimeContext(logger=logger, env=dict(env or {}), language=language, client_factory=default_client)

        def begin(index: int, count: int, name: str) -> None:
            if cancel is not None and cancel.is_set():
                raise ExecutionError(f"Cancelled before action '{name}'")
            current[0] = index
            if index < count:
                updates.put(('action', index, name))

        def done(index: int, name: str, running: dict[str, Any], result: Any) -> None:
            updates.put(('checkpoint', index, name, jsonable(running), jsonable(result)))

        try:
            pipeline = ActionPipeline(actions, validate_schemas=False)
            result = pipeline.execute(
                params, ctx, progress_callback=begin, start=start, last_result=last_result, on_action_done=done
            )
        except Exception as exc:
            return 'error', _portable(exc), current[0]
        finally:
            if not logger.finished:
                logger.finish()
            ctx.close()
        return 'ok', result, None

    def target() -> None:
        try:
            outcome = work()
        except BaseException as exc:  # a last resort: work reports its own errors
            outcome = ('error', _portable(ExecutionError(str(exc))), current[0])
        updates.put((_DONE, outcome))

    thread = threading.Thread(target=target, name='synapse-pipeline-run', daemon=True)
    thread.start()
    from synapse_sdk.plugins.executors.ray._relay import batches

    yield from batches(updates, thread, urgent=_URGENT)


def _portable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else an ExecutionError with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ExecutionError(f'{type(exc).__name__}: {redact(str(exc))}')
    exc.__traceback__ = None
    return exc
