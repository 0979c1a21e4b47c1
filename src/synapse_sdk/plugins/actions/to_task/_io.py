"""Running a task's I/O steps (``processing.Op``): on the pipeline's loop, or whole on a worker thread.

:class:`ClientIO` answers each step with a plain call on the run's (synchronous, thread-safe)
client, so a task runs start to end on one worker thread: it works with every client (custom
transports, in-process backends, seed 001's ``run.client``) and is the path taken when aiohttp is
missing. ``_aiohttp_io.AiohttpIO`` answers the same steps as coroutines on the pipeline's loop,
the fast path for a plain network client; only blocking hooks go to worker threads there.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol

from synapse_sdk.plugins.actions.to_task.processing import Op


class HookDownloads(Protocol):
    """What ``ToTaskAction.download_json`` uses while the pipeline runs."""

    def download_json_blocking(self, url: str) -> Any:
        """The ``download_json`` step for a hook on a worker thread, waited for."""
        ...


def drive_sync(steps: Generator[Op, Any, Any], io: Any) -> Any:
    """Run ``steps`` to the end, answering each with ``io.<name>(*args)``; errors are raised into it."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            name, args = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = getattr(io, name)(*args), None
        except Exception as exc:
            value, error = None, exc


async def drive_async(steps: Generator[Op, Any, Any], io: Any) -> Any:
    """As :func:`drive_sync`, awaiting ``io.<name>(*args)`` on the running loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            name, args = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = await getattr(io, name)(*args), None
        except Exception as exc:
            value, error = None, exc


class ThreadHop:
    """Runs blocking callables on the run's worker pool, from the loop."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool

    async def in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))


class ClientIO:
    """Each step as a call on the run's client, on the calling (worker) thread."""

    name = 'client'

    def __init__(self, client: Any) -> None:
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
        time.sleep(seconds)

    def download_json_blocking(self, url: str) -> Any:
        return self.client.download_json(url)
