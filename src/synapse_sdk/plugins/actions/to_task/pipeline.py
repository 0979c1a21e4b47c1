"""The annotate pipeline: every task's flow driven on one asyncio loop, at most ``width`` at a time.

:class:`TaskRunner` runs the loop in a thread of its own and hands each task's outcome to the
caller's thread as the task ends (completion order), where progress, metrics, events and logs are
written, so loggers never run on the loop or on a worker thread. Task details are read ahead one
chunk (an ``id__in`` listing) at a time. If the caller falls behind, the loop stops starting tasks
until it catches up: memory stays flat however many tasks there are.

Each operation a flow yields (:mod:`.io`) is answered by :func:`drive` through the run's
``TaskIO`` (:func:`.io.open_io`); blocking hooks run on a pool of ``width`` worker threads.

Stopping (the caller stops iterating, or a task raises a ``BaseException`` that is not a task-level
error, which then reaches the caller) sets the run's stop event and cancels what runs on the loop;
the worker pool is drained while the loop keeps running, and only then is the HTTP session closed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from synapse_sdk.plugins.actions.to_task.errors import RunStopped
from synapse_sdk.plugins.actions.to_task.io import HookBridge, Op, TaskIO, open_io
from synapse_sdk.plugins.actions.to_task.models import TaskOutcome
from synapse_sdk.plugins.actions.to_task.task import TaskFlow

__all__ = ['TaskRunner', 'drive']

logger = logging.getLogger('synapse_sdk.plugins.to_task')

T = TypeVar('T')
PREFETCH_CHUNK = 100  #: task details read per listing call
DRAIN_PAUSE = 0.01  #: seconds the caller's thread lets outcomes gather before taking them
DRAIN_WARN_SECONDS = 5.0  #: a stopping run says so when hooks still run after this long
_END = object()


async def drive(steps: Generator[Op, Any, T], io: TaskIO, stop: threading.Event) -> T:
    """Run a flow to its end, answering each operation with ``await op.on(io)``; errors are raised into it.

    Once ``stop`` is set no further operation starts: the flow is closed and :class:`RunStopped` raised.
    """
    value: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                op = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as done:
                return done.value
            if stop.is_set():
                raise RunStopped
            try:
                value, error = await op.on(io), None
            except Exception as exc:
                value, error = None, exc
    except BaseException:
        steps.close()
        raise


# --------------------------------------------------------------------------- the runner
class TaskRunner:
    """Runs one annotate pass; iterate :meth:`outcomes` on the caller's thread."""

    def __init__(self, flow: TaskFlow, client: Any, width: int, budget: Any = None) -> None:
        self.flow, self.client, self.width, self.budget = flow, client, width, budget
        self.backlog = max(64, 4 * width)  #: outcomes the caller may have unread before tasks pause
        self.http: str | None = None  #: the HTTP path taken, once the run started
        self.fallback_reason: str | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None  #: what a task raised that ends the run (raised to the caller)

    def outcomes(self, project: int, ids: list[int]) -> Generator[TaskOutcome, None, None]:
        """Each task's outcome as it ends; stops the pipeline if the caller stops iterating."""
        thread = threading.Thread(target=self._thread, args=(project, ids), name='to_task-loop', daemon=True)
        thread.start()
        finished = False
        try:
            while not finished:
                for item in self._drain():
                    if item is _END:
                        finished = True
                    elif isinstance(item, BaseException):
                        finished = True
                        raise item
                    else:
                        yield item
        finally:
            if not finished:
                self._cancel()
            thread.join()

    def _drain(self) -> list[Any]:
        """What the loop has handed over: waits for one item, then takes the rest after a short pause.

        Taking outcomes in small batches (about every ``DRAIN_PAUSE`` s) instead of waking for
        each one keeps the two threads from trading the GIL on every task.
        """
        items = [self._queue.get()]
        time.sleep(DRAIN_PAUSE)
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    # ------------------------------------------------------------------ the loop thread
    def _thread(self, project: int, ids: list[int]) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._main(project, ids))
        except BaseException as exc:  # handed to the caller's thread
            self._queue.put(exc)
        else:
            self._queue.put(_END)

    def _cancel(self) -> None:
        with self._lock:
            self._stop.set()
            if self._loop is not None and self._task is not None:
                try:
                    self._loop.call_soon_threadsafe(self._task.cancel)
                except RuntimeError:  # the loop has closed meanwhile: there is nothing left to stop
                    pass

    def _fail(self, exc: BaseException) -> None:
        """A task raised what is not a task-level error (a ``BaseException``): stop the run, raise it to the caller."""
        if self._fatal is None:
            self._fatal = exc
        self._stop.set()
        if self._task is not None:
            self._task.cancel()

    async def _main(self, project: int, ids: list[int]) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            await self._run(project, ids)
        except asyncio.CancelledError:
            if self._fatal is None:
                raise
        finally:
            with self._lock:
                self._task = None
        if self._fatal is not None:
            raise self._fatal

    async def _run(self, project: int, ids: list[int]) -> None:
        """Open the run's I/O, feed every task, then stop and drain it, whichever way the feed ended.

        The worker pool is drained off the loop while the loop keeps running (a hook waiting in
        ``hook_download`` needs it); only then is the HTTP session closed.
        """
        pool = ThreadPoolExecutor(max_workers=self.width + 2, thread_name_prefix='to_task')
        io, self.http, self.fallback_reason = open_io(self.client, self.width, pool, self._stop, self.budget)
        logger.debug('to_task HTTP path: %s, %d task(s) at a time', self.http, self.width)
        bridge = HookBridge(io, asyncio.get_running_loop(), self._stop)
        bridge.install()
        try:
            await self._feed(io, project, ids)
        finally:
            self._stop.set()  # whatever still runs on a worker thread stops at its next step
            try:
                bridge.abort()
                drained = asyncio.get_running_loop().run_in_executor(
                    None, functools.partial(pool.shutdown, wait=True, cancel_futures=True)
                )
                await _settle(drained, 'Stopping: waiting for the hooks still running to return')
            finally:
                bridge.remove()
                await _settle(asyncio.ensure_future(io.aclose()))

    async def _feed(self, io: TaskIO, project: int, ids: list[int]) -> None:
        slots = asyncio.Semaphore(self.width)
        running: set[asyncio.Future[Any]] = set()
        flow, stop = self.flow, self._stop

        def finished(task: asyncio.Future[Any]) -> None:
            running.discard(task)
            slots.release()

        ahead = asyncio.ensure_future(drive(flow.prefetch(project, ids[:PREFETCH_CHUNK]), io, stop))
        try:
            for start in range(0, len(ids), PREFETCH_CHUNK):
                details = await ahead
                following = ids[start + PREFETCH_CHUNK : start + 2 * PREFETCH_CHUNK]
                ahead = asyncio.ensure_future(drive(flow.prefetch(project, following), io, stop))
                for task_id in ids[start : start + PREFETCH_CHUNK]:
                    await slots.acquire()
                    while self._queue.qsize() > self.backlog:  # the caller is behind: let it catch up
                        await asyncio.sleep(0.005)
                    task = asyncio.ensure_future(self._one(io, flow.process(task_id, details.pop(task_id, None))))
                    running.add(task)
                    task.add_done_callback(finished)
            await ahead  # the read-ahead after the last chunk (empty: no call)
            if running:
                await asyncio.gather(*running)
        finally:  # stopped early (cancelled, or a read-ahead failed): end what is still in flight
            self._stop.set()
            left = [ahead, *running]
            for future in left:
                future.cancel()  # a no-op for those already done
            await _settle(asyncio.gather(*left, return_exceptions=True))

    async def _one(self, io: TaskIO, steps: Generator[Op, Any, TaskOutcome]) -> None:
        try:
            outcome = await drive(steps, io, self._stop)
        except (RunStopped, asyncio.CancelledError) as exc:
            if not self._stop.is_set():  # not from a stop: never lose a task silently
                self._fail(exc)
            elif isinstance(exc, asyncio.CancelledError):
                raise
            return
        except BaseException as exc:  # task-level errors are outcomes; anything else ends the run
            self._fail(exc)
            return
        self._queue.put(outcome)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # optional: a faster loop when installed
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _settle(future: asyncio.Future[Any], slow: str | None = None) -> None:
    """Wait until ``future`` is done even if this task is cancelled meanwhile (the cancel is raised after).

    ``slow``: a warning logged once when that takes longer than ``DRAIN_WARN_SECONDS``.
    """
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait({future}, timeout=DRAIN_WARN_SECONDS if slow else None)
        except asyncio.CancelledError:
            cancelled = True
            continue
        if slow and not future.done():
            logger.warning(slow)
            slow = None
    if cancelled:
        raise asyncio.CancelledError
    future.result()
