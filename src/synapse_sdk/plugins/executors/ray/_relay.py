"""Task mode's progress and log messages: recorded in the actor, streamed to the caller, replayed on its logger.

The actor runs the action on a thread of its own with a :class:`RelayLogger`, which puts every event,
progress, overall-progress and metrics update on a queue; the actor method is a Ray streaming
generator that yields them in batches (at most one batch every :data:`BATCH_INTERVAL` seconds, so a
tight ``set_progress`` loop costs one round trip per batch, not per call) and finally the outcome
with the last updates: a run shorter than one interval costs a single message, as a plain call.
The caller replays each batch on its own logger (:func:`replay`) as it arrives, so ``synapse plugin
run --mode task`` shows them as local mode does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from synapse_sdk.loggers import BaseLogger, LogEntry, ProgressRecord

__all__ = ['BATCH_INTERVAL', 'LoggerWrap', 'RelayLogger', 'RunTimeout', 'batches', 'follow', 'relay_run', 'replay']

#: Seconds between two batches of updates sent to the caller (the outcome is never delayed).
BATCH_INTERVAL = 0.1
_DONE = 'done'


class RelayLogger(BaseLogger):
    """Puts every update on ``sink`` (plain data, picklable); optionally passes it on to ``inner`` too."""

    def __init__(self, sink: Callable[[tuple[Any, ...]], None], inner: BaseLogger | None = None) -> None:
        super().__init__()
        self._sink = sink
        self._inner = inner

    def _emit(self, entry: LogEntry) -> None:
        self._sink(('log', entry.level.value, entry.event, entry.data, entry.step, entry.file))
        if self._inner is not None:
            self._inner.log(entry.level, entry.event, entry.data, entry.file, entry.step)

    def _emit_progress(self, step: str, record: ProgressRecord) -> None:
        self._sink(('progress', step, record.current, record.total))
        if self._inner is not None:
            self._inner.set_progress(record.current, record.total, step)

    def _emit_overall(self, percent: float) -> None:
        self._sink(('overall', percent))
        if self._inner is not None:
            self._inner.set_overall_progress(percent)

    def _emit_metrics(self, step: str, metrics: dict[str, Any]) -> None:
        self._sink(('metrics', step, metrics))
        if self._inner is not None:
            self._inner.set_metrics(metrics, step)

    def _on_finish(self) -> None:
        if self._inner is not None:
            self._inner.finish()


LoggerWrap = Callable[[BaseLogger | None], BaseLogger]


def relay_run(work: Callable[[LoggerWrap], tuple[str, Any]]) -> Iterator[Any]:
    """Run ``work(wrap)`` on a thread; yield ``('events', updates)`` batches, then ``('done', updates, outcome)``.

    ``wrap(inner)`` is the run's logger: a :class:`RelayLogger` passing updates on to ``inner`` (if any).
    """
    updates: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def wrap(inner: BaseLogger | None) -> BaseLogger:
        return RelayLogger(updates.put, inner)

    def target() -> None:
        try:
            outcome = work(wrap)
        except BaseException as exc:  # work reports its own errors; this is a last resort
            outcome = ('error', exc)
        updates.put((_DONE, outcome))

    thread = threading.Thread(target=target, name='synapse-task-run', daemon=True)
    thread.start()
    yield from batches(updates, thread)


def batches(
    updates: queue.Queue[tuple[Any, ...]], thread: threading.Thread, urgent: tuple[str, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """``('events', [...])`` at most once per :data:`BATCH_INTERVAL`, then ``('done', [...], outcome)``.

    An update whose kind is in ``urgent`` ends its batch at once; a run shorter than one interval sends
    one message (its updates and outcome). ``thread`` (the run) is joined before the last message.
    """
    last = time.monotonic()
    while True:
        batch = [updates.get()]
        while batch[-1][0] != _DONE and batch[-1][0] not in urgent:
            wait = BATCH_INTERVAL - (time.monotonic() - last)
            try:
                batch.append(updates.get(timeout=wait) if wait > 0 else updates.get_nowait())
            except queue.Empty:
                break
        if batch[-1][0] == _DONE:
            thread.join()
            yield ('done', batch[:-1], batch[-1][1])
            return
        yield ('events', batch)
        last = time.monotonic()


def replay(logger: BaseLogger, events: list[tuple[Any, ...]]) -> None:
    """Apply the actor's updates to the caller's ``logger`` (a finished logger ignores them)."""
    if logger.finished:
        return
    for update in events:
        kind = update[0]
        if kind == 'log':
            _, level, event, data, step, file = update
            logger.log(level, event, data, file, step)
        elif kind == 'progress':
            _, step, current, total = update
            logger.set_progress(current, total, step)
        elif kind == 'overall':
            logger.set_overall_progress(update[1])
        elif kind == 'metrics':
            logger.set_metrics(update[2], update[1])


class RunTimeout(Exception):
    """The run did not end within the caller's timeout (its actor was stopped)."""


def follow(
    ray: Any, stream: Any, logger: BaseLogger, timeout: float | None, stop: Callable[[], None]
) -> tuple[str, Any]:
    """Read the actor's stream: replay update batches on ``logger``; return the run's ``(outcome, value)``.

    After ``timeout`` seconds ``stop()`` ends the run (the actor is killed) and :class:`RunTimeout` is raised.
    """
    expired = threading.Event()
    timer = None
    if timeout is not None:

        def expire() -> None:
            expired.set()
            stop()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    try:
        for ref in stream:
            item = ray.get(ref)
            replay(logger, item[1])
            if item[0] == 'done':
                outcome: tuple[str, Any] = item[2]
                return outcome
    except Exception as exc:
        if expired.is_set():
            raise RunTimeout(f'no answer within {timeout} s') from exc
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if expired.is_set():
        raise RunTimeout(f'no answer within {timeout} s')
    raise RuntimeError('the actor ended the run without an outcome')
