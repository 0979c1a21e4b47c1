"""Reading a Ray job's output: following it live, and reading its last lines or its framed records.

:class:`LogPump` runs Ray's async ``tail_job_logs`` on an event loop of its own thread and hands
chunks to a synchronous reader; :meth:`LogPump.close` cancels the tail and joins the thread, so a
reader that stops early leaves nothing running. :func:`log_tail` reads only the end of a job's
driver log (the Jobs API itself can only return the whole log).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ['LogPump', 'framed', 'log_tail']


def framed(text: str, start: str, end: str) -> dict[str, Any] | None:
    """The last JSON record between ``start`` and ``end`` on a line of its own, or None."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith(start) and line.endswith(end):
            try:
                record = json.loads(line[len(start) : -len(end)])
            except ValueError:
                return None
            return record if isinstance(record, dict) else None
    return None


def log_tail(jobs: Any, job_id: str, node_id: str | None, lines: int = 200) -> str | None:
    """The last ``lines`` lines of the job's driver log via the dashboard's log API, or None.

    None when the log API is unavailable (older Ray, no node id, an error): callers then read the
    whole log with ``get_job_logs``.
    """
    request = getattr(jobs, '_do_request', None)
    if request is None or not node_id:
        return None
    try:
        reply = request(
            'GET', '/api/v0/logs/file', params={'submission_id': job_id, 'node_id': node_id, 'lines': lines}
        )
    except Exception:  # the whole log is the fallback
        return None
    if getattr(reply, 'status_code', None) != 200:
        return None
    return str(reply.text)


class LogPump:
    """Chunks of ``source()`` (an async iterator) delivered to a synchronous reader through a queue."""

    def __init__(self, source: Callable[[], AsyncIterator[str]], name: str, maxsize: int = 256) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=maxsize)
        self._closed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> LogPump:
        self.thread.start()
        return self

    def _put(self, item: tuple[str, Any]) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    async def _pump(self) -> None:
        if self._closed.is_set():
            return
        async for chunk in self._source():
            self._put(('chunk', chunk))
            if self._closed.is_set():
                return

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._task = self._loop.create_task(self._pump())
            self._loop.run_until_complete(self._task)
            self._put(('end', None))
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # handed to the reading thread
            self._put(('error', exc))
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def get(self) -> tuple[str, Any]:
        """The next ``('chunk', text)``, ``('end', None)`` or ``('error', exception)``."""
        return self._queue.get()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def close(self, timeout: float = 5.0) -> None:
        """Stop following (the websocket is closed) and wait for the thread to end."""
        self._closed.set()
        try:
            self._loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:  # the loop has already finished
            pass
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)
