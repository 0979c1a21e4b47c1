"""Calling an ASGI app in this process from a *synchronous* httpx client.

httpx's ``ASGITransport`` is async-only. :class:`SyncASGITransport` runs it on an event loop in
one daemon thread owned by the transport and waits for each response, so a plain
``httpx.Client`` (and our sync ``BackendClient``) can talk to the local backend with no port.
The app's own sync endpoints still run in its worker threads, so calls from many threads overlap.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx

from synapse_sdk.clients.base.tls import tls_context

__all__ = ['AsyncASGIRouter', 'SyncASGITransport']


def _remember_missing_sniffio() -> None:
    """httpx's ASGITransport tries ``import sniffio`` on every request; when it is not installed,
    each failed import searches ``sys.path`` again (about 0.3 ms a request). Recording the absence
    once (``sys.modules[name] = None``, Python's own marker for "not importable") makes it free."""
    if 'sniffio' not in sys.modules and importlib.util.find_spec('sniffio') is None:
        sys.modules['sniffio'] = None  # type: ignore[assignment]


class SyncASGITransport(httpx.BaseTransport):
    """Requests to ``host`` go to the in-process app; any other host (external file URLs) over the network."""

    def __init__(
        self,
        app: Any,
        *,
        host: str | None = None,
        client: tuple[str, int] = ('127.0.0.1', 123),
        on_close: Callable[[], None] | None = None,
    ) -> None:
        _remember_missing_sniffio()
        # an app error reaches the client as the app's 500 answer, exactly as over HTTP
        self._inner = httpx.ASGITransport(app=app, client=client, raise_app_exceptions=False)
        self._host = host
        self._network: httpx.HTTPTransport | None = None
        self._on_close = on_close
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name='synapse-asgi-loop', daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _roundtrip(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> httpx.Response:
        request = httpx.Request(method, url, headers=headers, content=body)
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        headers = httpx.Headers([(k, v) for k, v in response.headers.multi_items() if k.lower() != 'content-encoding'])
        return httpx.Response(response.status_code, headers=headers, content=content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._host is not None and request.url.host != self._host:
            with self._lock:
                if self._network is None:
                    self._network = httpx.HTTPTransport(verify=tls_context())
            return self._network.handle_request(request)
        body = request.read()
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(
            self._roundtrip(request.method, request.url, request.headers, body), loop
        )
        return future.result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
        if self._network is not None:
            self._network.close()
        if self._on_close is not None:
            self._on_close()


class AsyncASGIRouter(httpx.AsyncBaseTransport):
    """The async twin: ``host`` goes to the app, other hosts over the network."""

    def __init__(self, app: Any, *, host: str) -> None:
        _remember_missing_sniffio()
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._host = host
        self._network: httpx.AsyncHTTPTransport | None = None  #: made on the first request to another host

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self._host:
            return await self._inner.handle_async_request(request)
        if self._network is None:
            self._network = httpx.AsyncHTTPTransport(verify=tls_context())
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        if self._network is not None:
            await self._network.aclose()
        await self._inner.aclose()
