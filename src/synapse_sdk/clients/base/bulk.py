"""Senders of many concurrent requests on an asyncio loop: the bulk path of a client.

A sender sends the client's own :class:`~synapse_sdk.clients.base.call.Call` s exactly as the client
would: the same URLs, auth headers only to the backend's origin, no redirects followed, no cookies
kept, the same retry policy (the body read inside each attempt) and the same errors and parsing
(``_Core._finish``). Two kinds:

- :class:`AiohttpSender`: one aiohttp session, for a client that talks straight to the network.
  httpx under high concurrency is slow (pool contention); aiohttp with a per-host connection limit
  reaches the figure bulk I/O needs (``../bench/RESULTS.md``).
- :class:`ThreadedSender`: the client's own ``_send`` on worker threads, for a client with a custom
  or in-process transport (only it can send through that transport).

Either may share a :class:`~synapse_sdk.clients.base.retry.RetryBudget` across all its requests.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from synapse_sdk.clients.base.call import Call, encode_params, safe_target
from synapse_sdk.clients.base.retry import AttemptFailure, FailureKind, Reply, RetryBudget, RetryPolicy
from synapse_sdk.clients.base.tls import tls_context
from synapse_sdk.exceptions import ClientConnectionError

__all__ = ['AiohttpSender', 'BulkSender', 'ThreadedSender', 'aiohttp_available']

CHUNK = 1 << 16


class CallSender(Protocol):
    """What a sender uses of its client (an ``HTTPClient``): URLs, auth, policy, parsing, its own ``_send``."""

    retry: RetryPolicy

    def _url(self, call: Call) -> str: ...

    def _headers(self, url: str, call: Call) -> dict[str, str]: ...

    def _finish(self, call: Call, method: str, url: str, reply: Reply) -> Any: ...

    def capped_body(self, method: str, url: str, status: int, headers: Mapping[str, str], limit: int) -> Any: ...

    def _send(self, call: Call, *, retry: RetryPolicy | None = None) -> Any: ...


class BulkSender(Protocol):
    """Sends calls concurrently from one event loop; ``aclose()`` once done."""

    width: int
    kind: str  #: ``aiohttp`` or ``threads``

    async def send(self, call: Call) -> Any:
        """The parsed body of ``call``'s answer, or its ``ClientError``."""
        ...

    async def aclose(self) -> None: ...


def aiohttp_available() -> bool:
    """Whether aiohttp >= 3.10 (which tells a connect timeout from a read timeout) is installed."""
    try:
        import aiohttp
    except ImportError:
        return False
    return hasattr(aiohttp, 'ConnectionTimeoutError')


class AiohttpSender:
    """One aiohttp session on the running loop (made on the first send), ``width`` connections to the backend."""

    kind = 'aiohttp'

    def __init__(
        self,
        client: CallSender,
        width: int,
        connect_timeout: float | None,
        read_timeout: float | None,
        budget: RetryBudget | None = None,
        *,
        retry_writes: bool | None = None,
    ) -> None:
        self.width = width
        self._client = client
        self._policy = client.retry.with_budget(budget, retry_writes=retry_writes)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: Any = None

    def _open(self) -> Any:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.width + 4, ssl=tls_context())
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout)
        # no env proxies (as the client: httpx ignores them when given a transport) and no cookies
        session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        # aiohttp repeats an idempotent request (PUT included) once, unasked, when a reused connection drops;
        # every repeat here is the retry policy's (a write whose answer was lost is read back first instead).
        # There is no public switch: the attribute is pinned by tests/integration/to_task/test_faults.py.
        if hasattr(session, '_retry_connection'):
            session._retry_connection = False
        return session

    async def send(self, call: Call) -> Any:
        import yarl

        if call.data is not None or call.files is not None:
            raise ValueError(f'{call.method} {safe_target(call.path)}: form and file bodies are not sent in bulk')
        if self._session is None:
            self._session = self._open()
        client = self._client
        url = client._url(call)
        headers = client._headers(url, call)
        body = None
        if call.json is not None:
            body = json.dumps(call.json, ensure_ascii=False, separators=(',', ':'), allow_nan=False).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        target = yarl.URL(url, encoded=True)  # a signed URL is sent exactly as given
        if call.params:
            target = target.update_query(encode_params(call.params))
        method = call.method.upper()
        attempt = functools.partial(self._attempt, call, method, url, target, headers, body)
        return client._finish(call, method, url, await self._policy.run_async(method, url, attempt))

    async def _attempt(
        self, call: Call, method: str, url: str, target: Any, headers: dict[str, str], body: bytes | None
    ) -> Reply:
        import aiohttp

        try:
            # redirects are not followed, as by the client: a token must never travel to another host
            async with self._session.request(
                method, target, headers=headers, data=body, allow_redirects=False
            ) as response:
                try:
                    content = await self._read(call, method, url, response)
                except aiohttp.ClientPayloadError as exc:
                    raise AttemptFailure(FailureKind.INCOMPLETE, type(exc).__name__) from exc
                except TimeoutError as exc:
                    raise AttemptFailure(FailureKind.READ_TIMEOUT, type(exc).__name__) from exc
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                    raise AttemptFailure(FailureKind.INCOMPLETE, type(exc).__name__) from exc
                return Reply(
                    response.status,
                    content,
                    response.headers.get('Content-Type', ''),
                    response.headers.get('Retry-After'),
                    response.charset,
                )
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            raise AttemptFailure(FailureKind.NOT_SENT, type(exc).__name__) from exc
        except TimeoutError as exc:
            raise AttemptFailure(FailureKind.READ_TIMEOUT, type(exc).__name__) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise AttemptFailure(FailureKind.LOST, type(exc).__name__) from exc
        except aiohttp.ClientPayloadError as exc:
            raise AttemptFailure(FailureKind.INCOMPLETE, type(exc).__name__) from exc
        except aiohttp.ClientError as exc:  # an invalid URL, a bad status line ...: another attempt changes nothing
            raise ClientConnectionError(
                0, f'Request failed ({type(exc).__name__}): {method} {safe_target(url)}'
            ) from exc

    async def _read(self, call: Call, method: str, url: str, response: Any) -> bytes:
        if call.max_bytes is None:
            return bytes(await response.read())
        body = self._client.capped_body(method, url, response.status, response.headers, call.max_bytes)
        async for chunk in response.content.iter_chunked(CHUNK):  # decoded: a compressed body counts as it unpacks
            body.add(chunk)
        return body.content()

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class ThreadedSender:
    """The client's own ``_send`` on ``width`` worker threads (the client is thread-safe)."""

    kind = 'threads'

    def __init__(
        self, client: CallSender, width: int, budget: RetryBudget | None = None, *, retry_writes: bool | None = None
    ) -> None:
        self.width = width
        self._client = client
        self._policy = client.retry.with_budget(budget, retry_writes=retry_writes)
        self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix='synapse-bulk')

    async def send(self, call: Call) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(self._client._send, call, retry=self._policy))

    async def aclose(self) -> None:
        """Wait (off the loop) for the requests still running on the threads, then free them."""
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._pool.shutdown, wait=True, cancel_futures=True)
        )
