"""What one task asks for, the two interfaces its flow talks to, and the two ``TaskIO`` s that answer it.

The per-task flow (:mod:`.task`) does no I/O itself: it yields the operations below and is sent each
one's result (or has its error raised into it). :func:`.pipeline.drive` answers them with a
:class:`TaskIO`, which :func:`open_io` picks for the run's client:

- :class:`SessionIO`: the client's bulk session (``client.bulk_session``: aiohttp for a network
  client, the client on worker threads otherwise); unanswered writes are not repeated by it (the
  flow reads them back first);
- :class:`ClientIO`: any other client object (seed 001's ``run.client``), its methods on threads.

Blocking hooks run on the run's pool of worker threads; a hook's own ``download_json`` goes back to
the loop through :class:`HookBridge`. The user's code is reached only through :class:`TaskHooks`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import json
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from synapse_sdk.plugins.actions.to_task.errors import RunStopped

__all__ = [
    'HTTP_ENV',
    'Annotate',
    'CallHook',
    'ClientIO',
    'Download',
    'GetDataUnit',
    'GetTask',
    'HookBridge',
    'ListTasks',
    'Op',
    'RunPlugin',
    'SessionIO',
    'Sleep',
    'TaskHooks',
    'TaskIO',
    'download_via_client',
    'hook_download',
    'hook_file_name',
    'open_io',
]

HTTP_ENV = 'SYNAPSE_TO_TASK_HTTP'  #: ``client`` sends every call through the run's own client, on threads


class TaskIO(Protocol):
    """The operations, as coroutines on the pipeline's event loop."""

    async def list_tasks(self, params: Mapping[str, Any]) -> Any:
        """One listing of ``sdk/tasks/`` (every page)."""
        ...

    async def get_task(self, task_id: int, params: Mapping[str, Any]) -> Any: ...

    async def get_data_unit(self, unit_id: Any, params: Mapping[str, Any]) -> Any: ...

    async def download(self, url: str, max_bytes: int) -> bytes:
        """The bytes at ``url``; ``ResponseTooLargeError`` past ``max_bytes`` (the rest is not read)."""
        ...

    async def annotate(self, task_id: int, data: dict[str, Any], schema: str | None) -> Any: ...

    async def run_plugin(self, code: str, body: Mapping[str, Any]) -> Any:
        """``plugins/{code}/run/`` (a POST: never repeated once sent)."""
        ...

    async def call(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        names: Mapping[str, str | None],
    ) -> Any:
        """A blocking callable (a user's hook) on a worker thread; ``names``: the task's file names by URL."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class TaskHooks(Protocol):
    """The user's three hooks and ``download_json`` (what ``ToTaskAction`` subclasses override)."""

    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    def convert_data_from_inference(
        self, inference_data: Any, task_data: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...

    def setup_inference_params(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_files: list[dict[str, Any]],
        *,
        model_id: int,
        pre_processor_params: dict[str, Any],
        pre_processor_config: dict[str, Any],
        task_data: dict[str, Any],
    ) -> dict[str, Any]: ...

    def download_json(self, url: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ListTasks:
    params: Mapping[str, Any]

    async def on(self, io: TaskIO) -> Any:
        return await io.list_tasks(self.params)


@dataclass(frozen=True, slots=True)
class GetTask:
    task_id: int
    params: Mapping[str, Any]

    async def on(self, io: TaskIO) -> Any:
        return await io.get_task(self.task_id, self.params)


@dataclass(frozen=True, slots=True)
class GetDataUnit:
    unit_id: Any
    params: Mapping[str, Any]

    async def on(self, io: TaskIO) -> Any:
        return await io.get_data_unit(self.unit_id, self.params)


@dataclass(frozen=True, slots=True)
class Download:
    url: str = field(repr=False)  # may be a signed URL
    max_bytes: int

    async def on(self, io: TaskIO) -> bytes:
        return await io.download(self.url, self.max_bytes)


@dataclass(frozen=True, slots=True)
class Annotate:
    task_id: int
    data: dict[str, Any] = field(repr=False)
    schema: str | None

    async def on(self, io: TaskIO) -> Any:
        return await io.annotate(self.task_id, self.data, self.schema)


@dataclass(frozen=True, slots=True)
class RunPlugin:
    code: str
    body: Mapping[str, Any] = field(repr=False)

    async def on(self, io: TaskIO) -> Any:
        return await io.run_plugin(self.code, self.body)


@dataclass(frozen=True, slots=True)
class CallHook:
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: the task's file names by URL, for the messages of the hook's ``download_json``
    names: Mapping[str, str | None] = field(default_factory=dict, repr=False)

    async def on(self, io: TaskIO) -> Any:
        return await io.call(self.fn, self.args, self.kwargs, self.names)


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float

    async def on(self, io: TaskIO) -> None:
        await io.sleep(self.seconds)


Op = ListTasks | GetTask | GetDataUnit | Download | Annotate | RunPlugin | CallHook | Sleep
"""One I/O operation of a task; the driver answers it with ``await op.on(io)``."""


#: the loop's TaskIO, seen by hooks on the run's worker threads (for their ``download_json``)
_HOOK_IO: contextvars.ContextVar[HookBridge | None] = contextvars.ContextVar('to_task_hook_io', default=None)
#: the file names of the task whose hook runs on this thread, by URL (for download messages)
_FILE_NAMES: contextvars.ContextVar[Mapping[str, str | None] | None] = contextvars.ContextVar(
    'to_task_file_names', default=None
)


# --------------------------------------------------------------------------- the two TaskIOs
class _Hooks:
    """Blocking hooks on the run's worker pool, and sleeps that end when the run stops."""

    def __init__(self, pool: ThreadPoolExecutor, stop: threading.Event) -> None:
        self.pool = pool
        self.stop = stop

    async def call(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        names: Mapping[str, str | None],
    ) -> Any:
        context = contextvars.copy_context()  # carries _HOOK_IO to the worker thread

        def in_hook() -> Any:
            _FILE_NAMES.set(names)
            return fn(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.pool, context.run, in_hook)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SessionIO(_Hooks):
    """The operations on a client's bulk session (``BackendClient.bulk_session``)."""

    def __init__(self, session: Any, pool: ThreadPoolExecutor, stop: threading.Event) -> None:
        super().__init__(pool, stop)
        self.session = session

    async def list_tasks(self, params: Mapping[str, Any]) -> Any:
        return await self.session.list_tasks(params=dict(params))

    async def get_task(self, task_id: int, params: Mapping[str, Any]) -> Any:
        return await self.session.get_task(task_id, params=dict(params))

    async def get_data_unit(self, unit_id: Any, params: Mapping[str, Any]) -> Any:
        return await self.session.get_data_unit(unit_id, params=dict(params))

    async def download(self, url: str, max_bytes: int) -> bytes:
        return bytes(await self.session.download_file(url, max_bytes=max_bytes))

    async def annotate(self, task_id: int, data: dict[str, Any], schema: str | None) -> Any:
        return await self.session.annotate_task_data(task_id, data, schema=schema)

    async def run_plugin(self, code: str, body: Mapping[str, Any]) -> Any:
        return await self.session.run_plugin(code, body)

    async def aclose(self) -> None:
        await self.session.aclose()


class ClientIO(_Hooks):
    """The operations as calls of a plain (synchronous, thread-safe) client object, on worker threads."""

    def __init__(self, client: Any, pool: ThreadPoolExecutor, stop: threading.Event) -> None:
        super().__init__(pool, stop)
        self.client = client

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    async def list_tasks(self, params: Mapping[str, Any]) -> Any:
        return await self._on_thread(self.client.list_tasks, params=dict(params))

    async def get_task(self, task_id: int, params: Mapping[str, Any]) -> Any:
        return await self._on_thread(self.client.get_task, task_id, params=dict(params))

    async def get_data_unit(self, unit_id: Any, params: Mapping[str, Any]) -> Any:
        return await self._on_thread(self.client.get_data_unit, unit_id, params=dict(params))

    async def download(self, url: str, max_bytes: int) -> bytes:
        return await self._on_thread(download_via_client, self.client, url, max_bytes)

    async def annotate(self, task_id: int, data: dict[str, Any], schema: str | None) -> Any:
        return await self._on_thread(self.client.annotate_task_data, task_id, data, schema=schema)

    async def run_plugin(self, code: str, body: Mapping[str, Any]) -> Any:
        return await self._on_thread(self.client.run_plugin, code, body)

    async def aclose(self) -> None:
        return None


def download_via_client(client: Any, url: str, max_bytes: int) -> bytes:
    """The bytes at ``url`` through a plain client (a client without ``download_file``: its JSON, re-encoded)."""
    download = getattr(client, 'download_file', None)
    if callable(download):
        return bytes(download(url, max_bytes=max_bytes))
    return json.dumps(client.download_json(url)).encode('utf-8')


def open_io(
    client: Any, width: int, pool: ThreadPoolExecutor, stop: threading.Event, budget: Any
) -> tuple[SessionIO | ClientIO, str, str | None]:
    """The run's TaskIO, the name of its HTTP path and, when the fast path was possible but is missing, why."""
    opener = getattr(client, 'bulk_session', None)
    if not callable(opener):
        return ClientIO(client, pool, stop), 'client', None
    forced = os.environ.get(HTTP_ENV, 'auto').strip().lower() == 'client'
    session = opener(width, budget=budget, retry_writes=False, threaded=forced)
    if session.kind == 'aiohttp':
        return SessionIO(session, pool, stop), 'aiohttp', None
    reason = None if forced else client.bulk_fallback_reason()
    return SessionIO(session, pool, stop), 'client-no-aiohttp' if reason else 'client', reason


# --------------------------------------------------------------------------- hooks' downloads
class HookBridge:
    """Lets a hook on a worker thread wait for a download made on the loop; cancelled when the run stops."""

    def __init__(self, io: TaskIO, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        self.io, self.loop, self.stop = io, loop, stop
        self.loop_thread = threading.get_ident()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    def download(self, url: str, max_bytes: int) -> bytes:
        if threading.get_ident() == self.loop_thread:
            raise RuntimeError('download_json() blocks: call it from a hook (a worker thread), not the pipeline loop')
        if self.stop.is_set():
            raise RunStopped
        future = asyncio.run_coroutine_threadsafe(self.io.download(url, max_bytes), self.loop)
        with self._lock:
            self._pending.add(future)
        try:
            if self.stop.is_set():  # set after the check above: abort() may have missed this one
                future.cancel()
            return future.result()
        except concurrent.futures.CancelledError:
            raise RunStopped from None
        finally:
            with self._lock:
                self._pending.discard(future)

    def install(self) -> None:
        """From now on, hooks started from this context (the run's tasks) download through this bridge."""
        _HOOK_IO.set(self)

    def remove(self) -> None:
        _HOOK_IO.set(None)

    def abort(self) -> None:
        """Cancel the downloads hooks wait for (call after setting the stop event): their threads return."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.cancel()


def hook_file_name(url: str) -> str | None:
    """From a hook on the pipeline's worker thread: the name of the task's file at ``url`` (None: unknown)."""
    names = _FILE_NAMES.get()
    return None if names is None else names.get(url)


def hook_download(url: str, max_bytes: int) -> bytes | None:
    """From a hook on the pipeline's worker thread: the bytes at ``url`` over the run's HTTP; None elsewhere."""
    bridge = _HOOK_IO.get()
    return None if bridge is None else bridge.download(url, max_bytes)
