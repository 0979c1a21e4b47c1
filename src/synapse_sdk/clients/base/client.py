"""Sync and async HTTP shells around one request-building and response-handling core."""

from __future__ import annotations

import functools
import http.cookiejar
import itertools
import json
import logging
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

from synapse_sdk.clients.base.call import Call, Parser, error_for_response, safe_target
from synapse_sdk.clients.base.pagination import PageFlow, _origin
from synapse_sdk.clients.base.retry import AttemptFailure, FailureKind, Reply, RetryBudget, RetryPolicy
from synapse_sdk.clients.base.tls import tls_context
from synapse_sdk.exceptions import ClientConnectionError, ClientError, ResponseTooLargeError
from synapse_sdk.utils.redact import add_secret

if TYPE_CHECKING:
    from synapse_sdk.clients.base.bulk import BulkSender

__all__ = ['DEFAULT_TIMEOUT', 'AsyncCalls', 'AsyncHTTPClient', 'CappedBody', 'Flow', 'HTTPClient', 'tls_context']

#: A multi-call flow (sans-I/O): yields the next :class:`Call`, receives its parsed body, returns the result.
Flow = Generator[Call, Any, Any]

logger = logging.getLogger('synapse_sdk.clients')

#: connect 5 s, read 15 s (the agent client uses 3 s / 10 s)
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class _NoCookies(http.cookiejar.CookiePolicy):
    """Cookies are never stored nor sent: a backend's cookie must not reach another port or scheme of its host."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


def _no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that stays empty (each client gets its own)."""
    return http.cookiejar.CookieJar(policy=_NoCookies())


def _as_timeout(timeout: float | httpx.Timeout | None, default: httpx.Timeout) -> httpx.Timeout:
    if timeout is None:
        return default
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class _Core:
    """What every shell shares: URLs, auth headers (base host only), the retry policy, errors and parsing."""

    def __init__(self, base_url: str, auth_headers: Mapping[str, str], retry: RetryPolicy | None) -> None:
        if not base_url.startswith(('http://', 'https://')):
            raise ValueError(f"base_url must start with http:// or https://, got '{safe_target(base_url)}'")
        self.base_url = base_url.rstrip('/') + '/'
        self._auth_headers = dict(auth_headers)
        self._origin = _origin(self.base_url)
        self._origins: dict[str, bool] = {}  #: ``scheme://netloc`` -> on the backend's origin
        self.retry = retry or RetryPolicy()
        for value in self._auth_headers.values():
            add_secret(value.split(' ', 1)[-1])

    def _url(self, call: Call) -> str:
        if call.path.startswith(('http://', 'https://')):
            return call.path
        return self.base_url + call.path.lstrip('/')

    def _same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the backend's scheme, host and port (the only place auth headers go)."""
        if not url.startswith(('http://', 'https://')):
            return True
        scheme, _, rest = url.partition('://')
        prefix = f'{scheme}://{rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]}'
        known = self._origins.get(prefix)
        if known is None:
            if len(self._origins) > 256:  # file URLs on many hosts: keep the cache small
                self._origins.clear()
            known = self._origins[prefix] = _origin(prefix) == self._origin
        return known

    def _headers(self, url: str, call: Call) -> dict[str, str]:
        headers = dict(call.headers)
        if self._same_origin(url):
            headers.update(self._auth_headers)
        return headers

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        url = self._url(call)
        return http.build_request(
            call.method,
            url,
            params=call.params,
            json=call.json,
            data=call.data,
            files=call.files,
            headers=self._headers(url, call),
        )

    def _finish(self, call: Call, method: str, url: str, reply: Reply) -> Any:
        """The parsed body of a whole response, or the ClientError of an error status."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug('%s %s -> %d', method, safe_target(url), reply.status)
        if reply.status >= 400:
            own = self._same_origin(url)
            error = error_for_response(
                reply.status, reply.content, reply.content_type, reply.retry_after, foreign_url=None if own else url
            )
            if reply.status == 401 and own:
                explained = self._refused(error)
                if explained is not error:
                    raise explained from error  # the backend's own answer stays on __cause__
            raise error
        if 300 <= reply.status < 400:  # redirects are not followed: a token must never travel to another host
            raise ClientError(reply.status, f'Redirect not followed: {method} {safe_target(url)}')
        if call.response == 'bytes':
            return reply.content
        if call.response == 'text':
            return reply.content.decode(reply.encoding or 'utf-8', errors='replace')
        if not reply.content:
            return None
        try:
            return json.loads(reply.content)
        except ValueError:
            raise ClientError(reply.status, f'Expected JSON from {method} {safe_target(url)}') from None

    def _refused(self, error: ClientError) -> ClientError:
        """The error for a 401 from the backend itself; a client that knows its credentials explains it."""
        return error

    def capped_body(self, method: str, url: str, status: int, headers: Mapping[str, str], limit: int) -> CappedBody:
        """A collector of a body's chunks that refuses more than ``limit`` bytes."""
        return CappedBody(method, url, status, headers, limit)


class CappedBody:
    """A response body read chunk by chunk, at most ``limit`` bytes: past that, ``ResponseTooLargeError``.

    A declared ``Content-Length`` over the limit is refused before any of the body is read (only for a
    body sent as is: a compressed one is counted as it unpacks).
    """

    def __init__(self, method: str, url: str, status: int, headers: Mapping[str, str], limit: int) -> None:
        self.method, self.url, self.status, self.limit = method, url, status, limit
        self._chunks: list[bytes] = []
        self._size = 0
        if (headers.get('content-encoding') or 'identity').strip().lower() == 'identity':
            try:
                declared = int(headers.get('content-length') or '')
            except ValueError:
                declared = 0
            if declared > limit:
                raise self.too_large()

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.limit:
            raise self.too_large()
        self._chunks.append(chunk)

    def content(self) -> bytes:
        return b''.join(self._chunks)

    def too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            self.status,
            f'The response to {self.method} {safe_target(self.url)} is larger than {self.limit} bytes',
            limit=self.limit,
        )


def _httpx_failure(exc: httpx.TransportError, *, reading_body: bool) -> AttemptFailure | ClientError:
    """What an httpx transport error means for retrying (an invalid URL or proxy error is not retried)."""
    reason = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return AttemptFailure(FailureKind.NOT_SENT, reason)
    if isinstance(exc, httpx.TimeoutException):
        return AttemptFailure(FailureKind.READ_TIMEOUT, reason)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return AttemptFailure(FailureKind.INCOMPLETE if reading_body else FailureKind.LOST, reason)
    return ClientConnectionError(0, f'Request failed ({reason}): {safe_target(str(exc.request.url))}')


def _reply(response: httpx.Response, content: bytes) -> Reply:
    return Reply(
        response.status_code,
        content,
        response.headers.get('content-type', ''),
        response.headers.get('retry-after'),
        response.encoding,
    )


class HTTPClient(_Core):
    """The synchronous shell: ``_send(call)`` does the I/O, everything else is shared."""

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str] = {},
        *,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        default_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, auth_headers, retry)
        self._network = transport is None  #: requests go straight to the network (no custom transport)
        self._http = httpx.Client(
            transport=transport or httpx.HTTPTransport(verify=tls_context()),
            timeout=_as_timeout(timeout, default_timeout),
            cookies=_no_cookies(),
        )

    def bulk_sender(
        self,
        width: int,
        *,
        budget: RetryBudget | float | None = None,
        retry_writes: bool | None = None,
        threaded: bool = False,
    ) -> BulkSender:
        """A sender of many concurrent :class:`Call` s for an asyncio loop (see :mod:`.bulk`).

        On a client that talks straight to the network (no custom transport) with aiohttp installed, one
        aiohttp session with this client's URL, auth, timeouts and retry policy; otherwise (or with
        ``threaded``) this client's own ``_send`` on ``width`` worker threads. ``budget``: the whole run's
        retry budget (or its seconds), shared by its requests; ``retry_writes``: overrides the policy's.
        """
        from synapse_sdk.clients.base import bulk

        if isinstance(budget, int | float):
            budget = RetryBudget(budget)
        if self._network and not threaded and bulk.aiohttp_available():
            timeout = self._http.timeout
            return bulk.AiohttpSender(self, width, timeout.connect, timeout.read, budget, retry_writes=retry_writes)
        return bulk.ThreadedSender(self, width, budget, retry_writes=retry_writes)

    def bulk_fallback_reason(self) -> str | None:
        """Why :meth:`bulk_sender` would use threads for a network client (None: it would not)."""
        from synapse_sdk.clients.base import bulk

        if self._network and not bulk.aiohttp_available():
            return 'aiohttp >= 3.10 is not installed'
        return None

    def _attempt(self, call: Call, request: httpx.Request) -> Reply:
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _httpx_failure(exc, reading_body=False) from exc
        try:
            if call.max_bytes is None:
                return _reply(response, response.read())
            body = self.capped_body(
                request.method, str(request.url), response.status_code, response.headers, call.max_bytes
            )
            for chunk in response.iter_bytes():  # decoded bytes: a compressed body is counted as it unpacks
                body.add(chunk)
            return _reply(response, body.content())
        except httpx.TransportError as exc:
            raise _httpx_failure(exc, reading_body=True) from exc
        finally:
            response.close()

    def _send(self, call: Call, *, retry: RetryPolicy | None = None) -> Any:
        policy = retry or self.retry
        request = self._build(self._http, call)
        url = str(request.url)
        reply = policy.run(request.method, url, functools.partial(self._attempt, call, request))
        return self._finish(call, request.method, url, reply)

    def _call(self, call: Call, parse: Parser) -> Any:
        return parse(self._send(call))

    def _pages(self, flow: PageFlow) -> Iterator[Any]:
        while flow.next_call is not None:
            yield from flow.accept(self._send(flow.next_call))

    def _run(self, flow: Flow) -> Any:
        """Drive a multi-call flow to its result."""
        try:
            call = next(flow)
            while True:
                call = flow.send(self._send(call))
        except StopIteration as done:
            return done.value
        finally:
            flow.close()  # runs the flow's cleanup (open files) when a call failed

    def _list(self, call: Call, *, list_all: bool = False) -> Any:
        """Every item of every page; with ``list_all``: ``(lazy iterator, server count)``."""
        flow = PageFlow(self.base_url, call)
        if not list_all:
            return list(self._pages(flow))
        assert flow.next_call is not None
        first = flow.accept(self._send(flow.next_call))
        return itertools.chain(first, self._pages(flow)), flow.count

    def download_to_file(self, url: str, dest: str | Path, *, max_bytes: int | None = None) -> int:
        """Stream the body at ``url`` (relative or absolute) into ``dest``; returns its size.

        Auth headers go only to the backend's origin; the body never sits in memory whole. A failed or
        cut-off attempt is retried from the start by the retry policy; past ``max_bytes`` it is
        ``ResponseTooLargeError`` and ``dest`` is removed.
        """
        call = Call('GET', url, response='bytes', max_bytes=max_bytes)
        request = self._build(self._http, call)
        target = Path(dest)

        def attempt() -> Reply:
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise _httpx_failure(exc, reading_body=False) from exc
            try:
                if response.status_code >= 300:
                    return _reply(response, response.read())
                size = 0
                with open(target, 'wb') as fh:
                    body = (
                        self.capped_body(
                            request.method, str(request.url), response.status_code, response.headers, max_bytes or 0
                        )
                        if max_bytes
                        else None
                    )
                    for chunk in response.iter_bytes(1 << 20):
                        size += len(chunk)
                        if body is not None and size > body.limit:
                            raise body.too_large()
                        fh.write(chunk)
                return _reply(response, str(size).encode())
            except httpx.TransportError as exc:
                raise _httpx_failure(exc, reading_body=True) from exc
            finally:
                response.close()

        try:
            reply = self.retry.run(request.method, str(request.url), attempt)
            if reply.status >= 300:
                self._finish(call, request.method, str(request.url), reply)  # raises the error of the answer
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return int(reply.content)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCalls:
    """Calls, pages and flows over an async ``_send`` (the async client and the bulk session share it)."""

    base_url: str

    async def _send(self, call: Call) -> Any:
        raise NotImplementedError

    async def _call(self, call: Call, parse: Parser) -> Any:
        return parse(await self._send(call))

    async def _pages(self, flow: PageFlow, first: list[Any] | None = None) -> AsyncIterator[Any]:
        for item in first or ():
            yield item
        while flow.next_call is not None:
            for item in flow.accept(await self._send(flow.next_call)):
                yield item

    async def _run(self, flow: Flow) -> Any:
        try:
            call = next(flow)
            while True:
                call = flow.send(await self._send(call))
        except StopIteration as done:
            return done.value
        finally:
            flow.close()  # runs the flow's cleanup (open files) when a call failed

    async def _list(self, call: Call, *, list_all: bool = False) -> Any:
        flow = PageFlow(self.base_url, call)
        if not list_all:
            return [item async for item in self._pages(flow)]
        assert flow.next_call is not None
        first = flow.accept(await self._send(flow.next_call))
        return self._pages(flow, first), flow.count


class AsyncHTTPClient(_Core, AsyncCalls):
    """The asynchronous shell: same surface, every method a coroutine."""

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str] = {},
        *,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        default_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, auth_headers, retry)
        self._http = httpx.AsyncClient(
            transport=transport or httpx.AsyncHTTPTransport(verify=tls_context()),
            timeout=_as_timeout(timeout, default_timeout),
            cookies=_no_cookies(),
        )

    async def _attempt(self, call: Call, request: httpx.Request) -> Reply:
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _httpx_failure(exc, reading_body=False) from exc
        try:
            if call.max_bytes is None:
                return _reply(response, await response.aread())
            body = self.capped_body(
                request.method, str(request.url), response.status_code, response.headers, call.max_bytes
            )
            async for chunk in response.aiter_bytes():
                body.add(chunk)
            return _reply(response, body.content())
        except httpx.TransportError as exc:
            raise _httpx_failure(exc, reading_body=True) from exc
        finally:
            await response.aclose()

    async def _send(self, call: Call) -> Any:
        request = self._build(self._http, call)
        url = str(request.url)
        reply = await self.retry.run_async(request.method, url, functools.partial(self._attempt, call, request))
        return self._finish(call, request.method, url, reply)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
