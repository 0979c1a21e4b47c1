"""Stopping a run early (the caller fails, Ctrl-C, a hook's BaseException): it ends promptly, with that error.

Each test runs over the fast aiohttp path and over the client's own (httpx) path. File downloads
can be held at the proxy, so a hook is inside ``self.download_json`` when the run is stopped.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.integration.fault_proxy import Fault, FaultProxy
from tests.integration.to_task.conftest import build_project, make_client

from synapse_sdk.exceptions import StepError
from synapse_sdk.loggers import LogEntry, MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.actions.to_task import task as task_module
from synapse_sdk.plugins.executors import LocalExecutor

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

QUICK = {'quick': True}  #: what the hooks below write for the first task, without downloading


def good(i: int) -> bytes:
    return json.dumps({'annotations': {'image_1': [{'id': f's{i}'}]}, 'index': i}).encode()


class LoggerDown(Exception):
    """What a broken logger raises while the run records an outcome."""


class HookBug(BaseException):
    """Neither an ``Exception`` nor KeyboardInterrupt/SystemExit."""


class Hold:
    """An ASGI wrapper that holds every file download until ``release`` is set."""

    def __init__(self, app: FaultProxy) -> None:
        self.app = app
        self.release = threading.Event()
        self.held = 0  #: downloads held so far
        self.active = 0  #: requests being answered

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.active += 1
        try:
            if scope['type'] == 'http' and scope['method'] == 'GET' and scope['path'].startswith('/files/'):
                self.held += 1
                while not self.release.is_set():
                    await asyncio.sleep(0.01)
            await self.app(scope, receive, send)
        finally:
            self.active -= 1

    def finish(self) -> None:
        """Let every held download go and wait until all are answered."""
        self.release.set()
        deadline = time.monotonic() + 10
        while self.active and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture(params=['aiohttp', 'client'])
def http_path(request, monkeypatch) -> str:
    if request.param == 'client':
        monkeypatch.setenv('SYNAPSE_TO_TASK_HTTP', 'client')
    return request.param


@pytest.fixture
def held(local_backend, asgi_server) -> Iterator[tuple[Hold, str]]:
    hold = Hold(FaultProxy(local_backend.base_url))
    with asgi_server(hold) as url:
        yield hold, url
        hold.finish()
        hold.app.close()


class FailingLogger(MemoryLogger):
    """Raises ``error()`` from the first task outcome it records, once ``ready()`` is true (checked for 10 s)."""

    def __init__(
        self,
        error: Callable[[], BaseException],
        ready: Callable[[], bool] = lambda: True,
        on_raise: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.error, self.ready, self.on_raise = error, ready, on_raise
        self.raised_at: float | None = None

    def _emit(self, entry: LogEntry) -> None:
        super()._emit(entry)
        if entry.event == 'annotate_task_data' and self.raised_at is None:
            deadline = time.monotonic() + 10
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.raised_at = time.monotonic()
            self.on_raise()
            raise self.error()


class DownloadingHook(ToTaskAction):
    """A subclass hook that reads the annotation file itself (``self.download_json``), except for the first task."""

    first_task: int = 0

    def convert_data_from_file(self, primary_url, primary_name, data_url, data_name, task_data=None):
        if task_data['id'] == self.first_task:
            return QUICK
        return self.download_json(data_url)


def to_task_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith('to_task'))


def run_in_thread(url: str, token: str, project: int, action: type[ToTaskAction], logger: MemoryLogger, **extra):
    """Run the job on a thread of its own; ``(finished, error raised, seconds taken)`` after at most 30 s."""
    params = {'name': 'stopme', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data'}
    executor = LocalExecutor(client=make_client(url, token), logger_factory=lambda: logger)
    raised: list[BaseException] = []

    def job() -> None:
        try:
            executor.execute(action, {**params, 'concurrency': 4, **extra})
        except BaseException as exc:
            raised.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=job, daemon=True)
    thread.start()
    thread.join(30)
    return not thread.is_alive(), raised[0] if raised else None, time.monotonic() - started


def puts(proxy: FaultProxy) -> dict[int, int]:
    return {int(path.split('/')[2]): n for path, n in proxy.ok_puts.items()}


def test_a_failing_caller_ends_the_run_while_a_hook_waits_in_download_json(local_backend, held, http_path):
    hold, url = held
    project = build_project(make_client(local_backend.base_url, local_backend.token), 6, good, name='stop-h1')
    first = project.task_ids[0]
    action = type('Hook', (DownloadingHook,), {'first_task': first})
    # the other tasks wait in download_json; on the client path the held requests are let go 2 s later
    # (a stop cannot cut a request short there), on the aiohttp path never
    releaser = threading.Timer(2.0, hold.release.set)
    logger = FailingLogger(
        lambda: LoggerDown('logger down'),
        ready=lambda: hold.held >= 3,
        on_raise=releaser.start if http_path == 'client' else lambda: None,
    )
    finished, error, _ = run_in_thread(url, local_backend.token, project.id, action, logger)
    releaser.cancel()
    assert finished, 'the run hung after its caller failed'
    assert isinstance(error, StepError)
    assert str(error) == "Step 'annotate_task_data' failed: Failed to process tasks: logger down"
    assert type(error.__cause__) is LoggerDown
    assert logger.raised_at is not None
    ended_after = time.monotonic() - logger.raised_at
    if http_path == 'aiohttp':
        assert not hold.release.is_set()  # it did not wait for the held downloads
        assert ended_after < 3
    else:
        assert ended_after < 2.0 + 3  # the held requests end, then no further step starts
    assert to_task_threads() == []
    assert puts(hold.app) == {first: 1}  # no task was written after the stop
    hold.release.set()


def test_ctrl_c_after_the_pipeline_has_finished_is_raised_as_is(local_backend, proxy, http_path):
    fault_proxy, url = proxy
    project = build_project(make_client(local_backend.base_url, local_backend.token), 3, good, name='stop-m1')

    def pipeline_done() -> bool:
        return 'to_task-loop' not in to_task_threads()

    logger = FailingLogger(KeyboardInterrupt, ready=pipeline_done)
    finished, error, _ = run_in_thread(url, local_backend.token, project.id, ToTaskAction, logger)
    assert finished
    assert type(error) is KeyboardInterrupt  # not "RuntimeError: Event loop is closed"
    assert pipeline_done()  # the interrupt came after the loop had closed
    assert to_task_threads() == []
    assert puts(fault_proxy) == dict.fromkeys(project.task_ids, 1)


class BrokenHook(ToTaskAction):
    """Raises a ``BaseException`` for one task."""

    broken: int = 0

    def convert_data_from_file(self, primary_url, primary_name, data_url, data_name, task_data=None):
        if task_data['id'] == self.broken:
            raise HookBug('hook bug')
        return {'task': task_data['id']}


def test_a_hook_base_exception_ends_the_run_and_reaches_the_caller(local_backend, proxy, http_path):
    fault_proxy, url = proxy
    project = build_project(make_client(local_backend.base_url, local_backend.token), 10, good, name='stop-l1')
    action = type('Broken', (BrokenHook,), {'broken': project.task_ids[1]})
    logger = MemoryLogger()
    finished, error, _ = run_in_thread(url, local_backend.token, project.id, action, logger)
    assert finished
    assert type(error) is HookBug
    assert str(error) == 'hook bug'
    assert project.task_ids[1] not in puts(fault_proxy)
    assert to_task_threads() == []


class TopOfRange(random.Random):
    """``uniform(a, b)`` is always ``b``: each PUT retry's pause is its longest."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_stop_ends_a_put_retry_pause_at_once(local_backend, proxy, http_path, monkeypatch):
    fault_proxy, url = proxy
    project = build_project(make_client(local_backend.base_url, local_backend.token), 2, good, name='stop-m2')
    failing = f'/tasks/{project.task_ids[1]}/annotate_task_data/'
    fault_proxy.faults = [Fault('PUT', failing, 500)]
    monkeypatch.setattr(task_module, 'WRITE_PAUSE', 60.0)
    monkeypatch.setattr(task_module, 'random', TopOfRange())
    logger = FailingLogger(lambda: LoggerDown('logger down'), ready=lambda: fault_proxy.requests[('PUT', failing)] >= 1)
    finished, error, _ = run_in_thread(url, local_backend.token, project.id, ToTaskAction, logger)
    assert finished
    assert str(error) == "Step 'annotate_task_data' failed: Failed to process tasks: logger down"
    assert logger.raised_at is not None and time.monotonic() - logger.raised_at < 3  # not the 60 s pause
    assert fault_proxy.requests[('PUT', failing)] == 1  # no retry was sent after the stop
    assert to_task_threads() == []
