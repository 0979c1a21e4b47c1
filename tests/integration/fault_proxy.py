"""A reverse proxy for tests: forwards to the local backend, injecting latency and failures by rule.

It keeps the ``Host`` header, so the backend's file URLs point at the proxy and file downloads
pass through it too. It also counts every request and every successful PUT per path.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

HOP_HEADERS = {b'content-length', b'transfer-encoding', b'content-encoding', b'connection'}


@dataclass
class Fault:
    """Answer ``status`` to requests matching ``method`` and ``path`` (a regex), ``times`` times (None: always)."""

    method: str
    path: str
    status: int
    times: int | None = None
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        if method != self.method or not re.fullmatch(self.path, path):
            return False
        if self.times is not None and self.used >= self.times:
            return False
        self.used += 1
        return True


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    file_latency: float = 0.0
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    ok_puts: Counter[str] = field(default_factory=Counter)
    files_in_flight: int = 0  #: file GETs being answered now
    most_files_in_flight: int = 0  #: the most file GETs answered at once
    _client: httpx.AsyncClient | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def close(self) -> None:
        """Close the upstream connections on the server's loop (call before stopping the server)."""
        if self._client is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=10)
            self._client = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            return
        body = b''
        more = True
        while more:
            message = await receive()
            body += message.get('body', b'')
            more = message.get('more_body', False)
        method, path = scope['method'], scope['path']
        self.requests[(method, path)] += 1
        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            await _respond(send, fault.status, b'{"detail": "injected fault"}')
            return
        if method == 'GET' and path.startswith('/files/'):
            self.files_in_flight += 1
            self.most_files_in_flight = max(self.most_files_in_flight, self.files_in_flight)
            try:
                await self._forward(scope, method, path, body, send)
            finally:
                self.files_in_flight -= 1
            return
        await self._forward(scope, method, path, body, send)

    async def _forward(self, scope: dict[str, Any], method: str, path: str, body: bytes, send: Any) -> None:
        if self.file_latency and method == 'GET' and path.startswith('/files/'):
            await asyncio.sleep(self.file_latency)
        if self._client is None:
            self._loop = asyncio.get_running_loop()
            self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64), timeout=30)
        query = scope.get('query_string', b'').decode()
        url = self.upstream.rstrip('/') + path + (f'?{query}' if query else '')
        headers = [(k.decode(), v.decode()) for k, v in scope['headers'] if k.lower() not in HOP_HEADERS]
        reply = await self._client.request(method, url, headers=headers, content=body)
        if method == 'PUT' and reply.status_code < 300:
            self.ok_puts[path] += 1
        out_headers = [(k, v) for k, v in reply.headers.raw if k.lower() not in HOP_HEADERS]
        await _respond(send, reply.status_code, reply.content, out_headers)


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = list(headers or [(b'content-type', b'application/json')])
    headers.append((b'content-length', str(len(body)).encode()))
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
