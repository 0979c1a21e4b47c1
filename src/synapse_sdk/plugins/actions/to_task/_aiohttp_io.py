"""The fast HTTP path of the annotate pipeline: one aiohttp session on the pipeline's loop.

Used only for a client that talks plain HTTP(S) over the network (a ``BackendClient`` with its
default transport); it copies that client's base URL, auth headers, timeouts and retry policy, so
requests behave as the client's own would: auth headers only to the backend's origin, no
redirects followed, the same retried statuses and the same errors (``ClientError`` subclasses,
``'<code>: <detail>'``, redacted), no query string or credential in any message or log line. It
costs about a quarter of the client CPU per task of the threaded httpx path (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import random
import ssl
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from synapse_sdk.exceptions import ClientConnectionError, ClientError, ClientTimeoutError
from synapse_sdk.plugins.actions.to_task._io import ThreadHop
from synapse_sdk.plugins.actions.to_task.processing import RunStopped

logger = logging.getLogger('synapse_sdk.plugins.to_task')

_IDEMPOTENT = frozenset({'GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'})


@dataclass(frozen=True)
class HTTPSettings:
    """What the fast path copies from the run's client (its ``bulk_settings()``)."""

    base_url: str
    auth_headers: dict[str, str] = field(repr=False)  # holds the token
    #: the client's mapping of an error response to a ``ClientError``: (status, body, content type, Retry-After,
    #: ``foreign_url=`` the URL when it is not on the backend's origin: its body is never echoed)
    error_for_response: Callable[..., ClientError]
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})


def http_settings(client: Any) -> HTTPSettings | None:
    """The settings of a client whose requests go straight to the network; None for anything else.

    The client says so through its public ``bulk_settings()`` (``BackendClient`` has it). Anything else (a
    custom or in-process transport, an unknown client object) keeps the client's own path.
    """
    getter = getattr(client, 'bulk_settings', None)
    bulk = getter() if callable(getter) else None
    if bulk is None:
        return None
    try:
        retry = bulk.retry
        return HTTPSettings(
            base_url=str(bulk.base_url),
            auth_headers={str(k): str(v) for k, v in bulk.auth_headers.items()},
            error_for_response=bulk.error_for_response,
            connect_timeout=float(bulk.connect_timeout),
            read_timeout=float(bulk.read_timeout),
            attempts=max(1, int(retry.attempts)),
            backoff=float(retry.backoff),
            max_backoff=float(retry.max_backoff),
            max_retry_after=float(retry.max_retry_after),
            retry_statuses=frozenset(int(s) for s in retry.statuses),
        )
    except (AttributeError, TypeError, ValueError):
        return None


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with default ports filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or '').lower(), parts.port or {'http': 80, 'https': 443}.get(scheme)


def safe_target(url: str) -> str:
    """``host[:port]/path`` of ``url``: no userinfo, no query string."""
    parts = urlsplit(url)
    host = f'{parts.hostname or ""}:{parts.port}' if parts.port else parts.hostname or ''
    return f'{host}{parts.path}'


def encode_query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query values on the wire, as the client encodes them (None → ``null``, lists comma-joined)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            out[key] = 'null'
        elif isinstance(value, bool):
            out[key] = 'true' if value else 'false'
        elif isinstance(value, list | tuple | set | frozenset):
            out[key] = ','.join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA bundle costs ~25 ms)."""
    try:
        import certifi  # what httpx verifies against
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpIO(ThreadHop):
    """The pipeline's HTTP calls on one aiohttp session; blocking hooks still go to worker threads."""

    name = 'aiohttp'

    def __init__(self, settings: HTTPSettings, pool: Executor, width: int, stop: threading.Event) -> None:
        super().__init__(pool, stop)
        self.settings = settings
        self.width = width
        self._base = settings.base_url.rstrip('/') + '/'
        self._origin = origin(self._base)
        self._origins: dict[str, bool] = {}  #: ``scheme://netloc`` -> same origin as the backend
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._bridged: set[concurrent.futures.Future[Any]] = set()  #: hooks' downloads in flight
        self._bridged_lock = threading.Lock()

    async def start(self) -> None:
        import aiohttp

        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.width + 4, ssl=_ssl_context())
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
        )
        # no env proxies, like the client (httpx ignores them when given a transport); trust_env would
        # also cost a thread hop per request
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ the calls
    async def list_tasks(self, params: Mapping[str, Any]) -> Any:
        return await self._json('GET', 'sdk/tasks/', params=params)

    async def get_task(self, task_id: int, params: Mapping[str, Any]) -> Any:
        return await self._object('task', 'GET', f'tasks/{task_id}/', params=params)

    async def get_data_unit(self, unit_id: Any, params: Mapping[str, Any]) -> Any:
        return await self._object('data unit', 'GET', f'data_units/{unit_id}/', params={'expand': 'files', **params})

    async def download_json(self, url: str) -> Any:
        return await self._json('GET', url)

    async def annotate(self, task_id: int, data: dict[str, Any], schema: str | None) -> Any:
        body = json.dumps({'action': 'submit', 'data': data}, separators=(',', ':')).encode('utf-8')
        params = {'schema': schema} if schema == 'any' else None
        return await self._object('task', 'PUT', f'tasks/{task_id}/annotate_task_data/', params=params, body=body)

    async def hook(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A blocking callable (a subclass's hook, the inference call) on a worker thread."""
        return await self.in_thread(fn, *args, **kwargs)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def download_json_blocking(self, url: str) -> Any:
        """``download_json`` on the loop, waited for on a worker thread; :class:`RunStopped` once the run stops."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            raise RuntimeError('download_json_blocking() is for worker threads, not the pipeline loop')
        if self.stop.is_set():
            raise RunStopped
        future = asyncio.run_coroutine_threadsafe(self.download_json(url), self._loop)
        with self._bridged_lock:
            self._bridged.add(future)
        try:
            if self.stop.is_set():  # set after the check above: abort_downloads() may have missed this one
                future.cancel()
            return future.result()
        except concurrent.futures.CancelledError:
            raise RunStopped from None
        finally:
            with self._bridged_lock:
                self._bridged.discard(future)

    def abort_downloads(self) -> None:
        """Cancel the hooks' downloads in flight (call after setting the stop event): their threads return at once."""
        with self._bridged_lock:
            pending = list(self._bridged)
        for future in pending:
            future.cancel()

    # ------------------------------------------------------------------ plumbing
    def _same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the backend's scheme, host and port (the only place auth headers go)."""
        scheme, _, rest = url.partition('://')
        prefix = scheme + '://' + rest.split('/', 1)[0].split('?', 1)[0].split('#', 1)[0]
        known = self._origins.get(prefix)
        if known is None:
            known = self._origins[prefix] = origin(prefix) == self._origin
            if len(self._origins) > 256:  # file URLs on many hosts: keep the cache small
                self._origins.clear()
        return known

    async def _object(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = await self._json(method, path, **kwargs)
        if not isinstance(body, dict):
            raise ClientError(200, f'Invalid {what} response: expected a JSON object')
        return body

    async def _json(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: bytes | None = None
    ) -> Any:
        import yarl

        if path.startswith(('http://', 'https://')):
            url = path
            own = self._same_origin(url)
        else:
            url, own = self._base + path.lstrip('/'), True
        headers = dict(self.settings.auth_headers) if own else {}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        target = yarl.URL(url, encoded=True)  # a signed URL is sent exactly as given
        if params:
            target = target.update_query(encode_query(params))
        status, content, content_type, retry_after = await self._send(method, target, headers, body)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug('%s %s -> %d', method, safe_target(url), status)
        if status >= 400:
            raise self.settings.error_for_response(
                status, content, content_type, retry_after, foreign_url=None if own else url
            )
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError:
            raise ClientError(status, f'Expected JSON from {method} {safe_target(url)}') from None

    async def _send(
        self, method: str, target: Any, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes, str, str | None]:
        """One request with the client's retry policy; ``(status, body, content type, Retry-After)``."""
        import aiohttp

        s = self.settings
        for attempt in range(1, s.attempts + 1):
            last = attempt == s.attempts
            try:
                # redirects are not followed, as by the client: a token must never travel to another host
                async with self._session.request(
                    method, target, headers=headers, data=body, allow_redirects=False
                ) as response:
                    content = await response.read()
                    status = response.status
                    reply = (
                        status,
                        content,
                        response.headers.get('Content-Type', ''),
                        response.headers.get('Retry-After'),
                    )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                if last:  # nothing was sent: retried for any verb
                    raise ClientConnectionError(
                        0, f'Could not connect ({type(exc).__name__}): {_where(method, target)}'
                    ) from None
                await self._pause(method, target, type(exc).__name__, attempt, None)
                continue
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as exc:
                if last or method not in _IDEMPOTENT:
                    raise ClientConnectionError(
                        0, f'Could not connect ({type(exc).__name__}): {_where(method, target)}'
                    ) from None
                await self._pause(method, target, type(exc).__name__, attempt, None)
                continue
            except TimeoutError:
                raise ClientTimeoutError(408, f'Request timed out: {_where(method, target)}') from None
            except aiohttp.ClientError as exc:  # an invalid URL, too many redirects ...
                raise ClientError(0, f'Request failed ({type(exc).__name__}): {_where(method, target)}') from None
            if last or method not in _IDEMPOTENT or status not in s.retry_statuses:
                return reply
            await self._pause(method, target, str(status), attempt, reply[3] if status == 429 else None)
        raise AssertionError('unreachable')  # pragma: no cover

    async def _pause(self, method: str, target: Any, reason: str, attempt: int, retry_after: str | None) -> None:
        s = self.settings
        logger.warning(
            'Retrying %s %s after %s (attempt %d of %d)', method, _where(None, target), reason, attempt + 1, s.attempts
        )
        delay: float | None = None
        if retry_after is not None:
            try:
                delay = min(max(float(retry_after), 0.0), s.max_retry_after)
            except ValueError:
                delay = None
        if delay is None:
            delay = random.uniform(0, min(s.max_backoff, s.backoff * 2 ** (attempt - 1)))
        await asyncio.sleep(delay)


def _where(method: str | None, target: Any) -> str:
    where = safe_target(str(target))
    return f'{method} {where}' if method else where
