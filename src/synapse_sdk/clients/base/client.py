"""Sync and async HTTP shells around one request-building and response-handling core."""

from __future__ import annotations

import functools
import http.cookiejar
import itertools
import json
import logging
import ssl
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from synapse_sdk.clients.base.call import Call, ErrorMapper, Parser, error_for_response, safe_target
from synapse_sdk.clients.base.pagination import PageFlow, _origin
from synapse_sdk.clients.base.retry import AsyncRetryTransport, RetryPolicy, RetryTransport
from synapse_sdk.exceptions import ClientConnectionError, ClientError, ClientTimeoutError, ResponseTooLargeError
from synapse_sdk.utils.redact import add_secret

__all__ = ['DEFAULT_TIMEOUT', 'AsyncHTTPClient', 'BulkSettings', 'Flow', 'HTTPClient', 'tls_context']

#: A multi-call flow (sans-I/O): yields the next :class:`Call`, receives its parsed body, returns the result.
Flow = Generator[Call, Any, Any]

logger = logging.getLogger('synapse_sdk.clients')

#: connect 5 s, read 15 s (the agent client uses 3 s / 10 s)
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client of the process.

    Making one loads the CA bundle (about 25 ms), which every client used to pay, even for a plain-HTTP
    backend. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are read when the first client is made.
    """
    return httpx.create_ssl_context()


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


@dataclass(frozen=True)
class BulkSettings:
    """What a bulk path on its own HTTP stack needs to send requests exactly as a client would.

    Auth headers go only to ``base_url``'s scheme, host and port; redirects are not followed; cookies are not
    kept; retries follow ``retry``; an error response becomes ``error_for_response(status, body, content type,
    Retry-After, foreign_url=<the URL> when it is not on the backend's origin)``.
    """

    base_url: str
    auth_headers: Mapping[str, str] = field(repr=False)  # holds the token
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    error_for_response: ErrorMapper


class _Core:
    """What both shells share: URLs, auth headers (base host only), errors and parsing."""

    def __init__(self, base_url: str, auth_headers: Mapping[str, str], retry: RetryPolicy | None) -> None:
        if not base_url.startswith(('http://', 'https://')):
            raise ValueError(f"base_url must start with http:// or https://, got '{safe_target(base_url)}'")
        self.base_url = base_url.rstrip('/') + '/'
        self._auth_headers = dict(auth_headers)
        self._origin = _origin(self.base_url)
        self.retry = retry or RetryPolicy()
        for value in self._auth_headers.values():
            add_secret(value.split(' ', 1)[-1])

    def _url(self, call: Call) -> str:
        if call.path.startswith(('http://', 'https://')):
            return call.path
        return self.base_url + call.path.lstrip('/')

    def _headers(self, url: str, call: Call) -> dict[str, str]:
        headers = dict(call.headers)
        if _origin(url) == self._origin:
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

    @staticmethod
    def _transport_error(exc: httpx.TransportError, request: httpx.Request) -> ClientError:
        target = f'{request.method} {safe_target(str(request.url))}'
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return ClientTimeoutError(408, f'Request timed out: {target}')
        return ClientConnectionError(0, f'Could not connect ({type(exc).__name__}): {target}')

    def _finish(self, call: Call, request: httpx.Request, response: httpx.Response, content: bytes) -> Any:
        logger.debug('%s %s -> %d', request.method, safe_target(str(request.url)), response.status_code)
        if response.status_code >= 400:
            url = str(request.url)
            raise error_for_response(
                response.status_code,
                content,
                response.headers.get('content-type', ''),
                response.headers.get('retry-after'),
                foreign_url=None if _origin(url) == self._origin else url,
            )
        if call.response == 'bytes':
            return content
        if call.response == 'text':
            return content.decode(response.encoding or 'utf-8', errors='replace')
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError:
            raise ClientError(
                response.status_code, f'Expected JSON from {request.method} {safe_target(str(request.url))}'
            ) from None

    @staticmethod
    def _too_large(request: httpx.Request, response: httpx.Response, limit: int) -> ResponseTooLargeError:
        target = f'{request.method} {safe_target(str(request.url))}'
        return ResponseTooLargeError(
            response.status_code, f'The response to {target} is larger than {limit} bytes', limit=limit
        )

    def _declared_too_large(self, request: httpx.Request, response: httpx.Response, limit: int) -> None:
        """Refuse at once a body whose ``Content-Length`` is over ``limit`` (nothing of it is read).

        Only for a body sent as is: a compressed one is counted as it unpacks.
        """
        if response.headers.get('content-encoding', 'identity').strip().lower() != 'identity':
            return
        try:
            declared = int(response.headers.get('content-length', ''))
        except ValueError:
            return
        if declared > limit:
            raise self._too_large(request, response, limit)


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
        inner = transport or httpx.HTTPTransport(verify=tls_context())
        self._http = httpx.Client(
            transport=RetryTransport(inner, self.retry),
            timeout=_as_timeout(timeout, default_timeout),
            cookies=_no_cookies(),
        )

    def bulk_settings(self) -> BulkSettings | None:
        """This client's settings for a bulk path that sends many requests on its own HTTP stack.

        None when requests do not go straight to the network (a custom or in-process transport): only this
        client can send those.
        """
        if not self._network:
            return None
        timeout = self._http.timeout
        return BulkSettings(
            base_url=self.base_url,
            auth_headers=dict(self._auth_headers),
            connect_timeout=timeout.connect if timeout.connect is not None else DEFAULT_TIMEOUT.connect or 5.0,
            read_timeout=timeout.read if timeout.read is not None else DEFAULT_TIMEOUT.read or 15.0,
            retry=self.retry,
            error_for_response=error_for_response,
        )

    def _send(self, call: Call) -> Any:
        request = self._build(self._http, call)
        try:
            if call.max_bytes is None:
                response = self._http.send(request)
                content = response.content
            else:
                response = self._http.send(request, stream=True)
                try:
                    content = self._read_capped(request, response, call.max_bytes)
                finally:
                    response.close()
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return self._finish(call, request, response, content)

    def _read_capped(self, request: httpx.Request, response: httpx.Response, limit: int) -> bytes:
        self._declared_too_large(request, response, limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded bytes: a compressed body is counted as it unpacks
            size += len(chunk)
            if size > limit:
                raise self._too_large(request, response, limit)
            chunks.append(chunk)
        return b''.join(chunks)

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

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HTTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHTTPClient(_Core):
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
        inner = transport or httpx.AsyncHTTPTransport(verify=tls_context())
        self._http = httpx.AsyncClient(
            transport=AsyncRetryTransport(inner, self.retry),
            timeout=_as_timeout(timeout, default_timeout),
            cookies=_no_cookies(),
        )

    async def _send(self, call: Call) -> Any:
        request = self._build(self._http, call)
        try:
            if call.max_bytes is None:
                response = await self._http.send(request)
                content = response.content
            else:
                response = await self._http.send(request, stream=True)
                try:
                    content = await self._read_capped(request, response, call.max_bytes)
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return self._finish(call, request, response, content)

    async def _read_capped(self, request: httpx.Request, response: httpx.Response, limit: int) -> bytes:
        self._declared_too_large(request, response, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(request, response, limit)
            chunks.append(chunk)
        return b''.join(chunks)

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

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncHTTPClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
