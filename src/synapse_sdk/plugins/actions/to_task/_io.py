"""Running a task's I/O steps (``processing.Op``): on the pipeline's loop, or whole on a worker thread.

:class:`ClientIO` answers each step with a plain call on the run's (synchronous, thread-safe)
client, so a task runs start to end on one worker thread: it works with every client (custom
transports, in-process backends, seed 001's ``run.client``) and is the path taken when aiohttp is
missing. ``_aiohttp_io.AiohttpIO`` answers the same steps as coroutines on the pipeline's loop,
the fast path for a plain network client; only blocking hooks go to worker threads there.

Both share the run's stop event: once it is set, no further step starts, the ``sleep`` step and
:meth:`StopAware.pause` (the deferred-inference polls) end at once, and a task ends with
:class:`~synapse_sdk.plugins.actions.to_task.processing.RunStopped` instead of an outcome.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol

from synapse_sdk.plugins.actions.to_task.processing import Op, RunStopped


class HookDownloads(Protocol):
    """What ``ToTaskAction.download_json`` uses while the pipeline runs."""

    def download_json_blocking(self, url: str) -> Any:
        """The ``download_json`` step for a hook on a worker thread, waited for."""
        ...

    def pause(self, seconds: float) -> None:
        """Sleep on a worker thread; raises ``RunStopped`` as soon as the run stops."""
        ...


def drive_sync(steps: Generator[Op, Any, Any], io: Any) -> Any:
    """Run ``steps`` to the end, answering each with ``io.<name>(*args)``; errors are raised into it.

    Once ``io.stop`` is set no further step starts: ``steps`` is closed and :class:`RunStopped` raised.
    """
    value: Any = None
    error: BaseException | None = None
    stop: threading.Event = io.stop
    try:
        while True:
            try:
                name, args = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as done:
                return done.value
            if stop.is_set():
                raise RunStopped
            try:
                value, error = getattr(io, name)(*args), None
            except Exception as exc:
                value, error = None, exc
    except BaseException:
        steps.close()
        raise


async def drive_async(steps: Generator[Op, Any, Any], io: Any) -> Any:
    """As :func:`drive_sync`, awaiting ``io.<name>(*args)`` on the running loop (a stop cancels the task)."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                name, args = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as done:
                return done.value
            try:
                value, error = await getattr(io, name)(*args), None
            except Exception as exc:
                value, error = None, exc
    except BaseException:
        steps.close()
        raise


class StopAware:
    """Holds the run's stop event (set once the run stops)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` on a worker thread; :class:`RunStopped` at once when the run stops."""
        if self.stop.wait(seconds):
            raise RunStopped


class ThreadHop(StopAware):
    """Runs blocking callables on the run's worker pool, from the loop."""

    def __init__(self, pool: Executor, stop: threading.Event) -> None:
        super().__init__(stop)
        self.pool = pool

    async def in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))


class ClientIO(StopAware):
    """Each step as a call on the run's client, on the calling (worker) thread."""

    name = 'client'

    def __init__(self, client: Any, stop: threading.Event) -> None:
        super().__init__(stop)
        self.client = client

    def list_tasks(self, params: Mapping[str, Any]) -> Any:
        return self.client.list_tasks(params=dict(params))

    def get_task(self, task_id: int, params: Mapping[str, Any]) -> Any:
        return self.client.get_task(task_id, params=dict(params))

    def get_data_unit(self, unit_id: Any, params: Mapping[str, Any]) -> Any:
        return self.client.get_data_unit(unit_id, params=dict(params))

    def download_json(self, url: str) -> Any:
        return self.client.download_json(url)

    def annotate(self, task_id: int, data: dict[str, Any], schema: str | None) -> Any:
        return self.client.annotate_task_data(task_id, data, schema=schema)

    def hook(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    def sleep(self, seconds: float) -> None:
        self.pause(seconds)

    def download_json_blocking(self, url: str) -> Any:
        if self.stop.is_set():
            raise RunStopped
        return self.client.download_json(url)
