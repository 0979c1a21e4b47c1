"""Sync and async HTTP shells around one request-building and response-handling core."""

from __future__ import annotations

import functools
import itertools
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from synapse_sdk.clients.base.call import Call, Parser, error_for_response, safe_target
from synapse_sdk.clients.base.pagination import PageFlow, _origin
from synapse_sdk.clients.base.retry import AsyncRetryTransport, RetryPolicy, RetryTransport
from synapse_sdk.exceptions import ClientConnectionError, ClientError, ClientTimeoutError
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


def _as_timeout(timeout: float | httpx.Timeout | None, default: httpx.Timeout) -> httpx.Timeout:
    if timeout is None:
        return default
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


@dataclass(frozen=True)
class BulkSettings:
    """What a bulk path on its own HTTP stack needs to send requests exactly as a client would.

    Auth headers go only to ``base_url``'s scheme, host and port; redirects are not followed; retries follow
    ``retry``; an error response becomes ``error_for_response(status, body, content type, Retry-After)``.
    """

    base_url: str
    auth_headers: Mapping[str, str]
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    error_for_response: Callable[[int, bytes, str, str | None], ClientError]


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

    @staticmethod
    def _finish(call: Call, request: httpx.Request, response: httpx.Response) -> Any:
        logger.debug('%s %s -> %d', request.method, safe_target(str(request.url)), response.status_code)
        if response.status_code >= 400:
            raise error_for_response(
                response.status_code,
                response.content,
                response.headers.get('content-type', ''),
                response.headers.get('retry-after'),
            )
        if call.response == 'bytes':
            return response.content
        if call.response == 'text':
            return response.text
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                response.status_code, f'Expected JSON from {request.method} {safe_target(str(request.url))}'
            ) from None


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
            transport=RetryTransport(inner, self.retry), timeout=_as_timeout(timeout, default_timeout)
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
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return self._finish(call, request, response)

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
            transport=AsyncRetryTransport(inner, self.retry), timeout=_as_timeout(timeout, default_timeout)
        )

    async def _send(self, call: Call) -> Any:
        request = self._build(self._http, call)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request) from exc
        return self._finish(call, request, response)

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
