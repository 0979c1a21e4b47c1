"""A loopback HTTP/1.1 reverse proxy that injects, by rule, the faults real networks produce.

``ChaosProxy`` listens on 127.0.0.1, parses client requests with h11 and forwards them to an upstream
(the local backend) with aiohttp. It writes every answer itself, so it can also cut one short:

    before forwarding (upstream sees nothing)   STATUS_BEFORE, RESET_BEFORE, CLOSE_BEFORE
    wait, then forward (or close)               DELAY_BEFORE
    after the upstream answered (it committed)  STATUS_AFTER, HANG_AFTER, RESET_AFTER, TRUNCATE_AFTER

The "after" faults make ambiguous writes: a PUT the upstream committed whose answer the client never
sees. Responses are re-framed with ``Content-Length`` (the upstream may answer chunked) and the
client's ``Host`` header is forwarded unchanged, so URLs the upstream builds from it (file downloads)
point back at the proxy and pass through it too. Rules fire with a probability drawn from one seeded
``random.Random``, so a run that sends the same requests in the same order injects the same faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from types import TracebackType
from typing import Self

import aiohttp
import h11
import yarl
from multidict import CIMultiDict

HOP_BY_HOP = frozenset(
    b'connection keep-alive proxy-authenticate proxy-authorization proxy-connection te trailer trailers '
    b'transfer-encoding upgrade'.split()
)
READ_SIZE = 65536


class Fault(StrEnum):
    """What a firing rule does instead of the plain exchange."""

    STATUS_BEFORE = 'status_before'  #: answer ``Rule.status`` (and ``Retry-After``) instead of forwarding
    RESET_BEFORE = 'reset_before'  #: TCP RST instead of forwarding
    CLOSE_BEFORE = 'close_before'  #: close (FIN) without an answer instead of forwarding
    DELAY_BEFORE = 'delay_before'  #: wait ``Rule.seconds``, then forward if ``Rule.forward``, else close
    STATUS_AFTER = 'status_after'  #: forward, then answer ``Rule.status`` in place of the upstream's answer
    HANG_AFTER = 'hang_after'  #: forward, then stay silent (``Rule.seconds``, till the client leaves or close())
    RESET_AFTER = 'reset_after'  #: forward, then TCP RST
    TRUNCATE_AFTER = 'truncate_after'  #: forward, then send the head (full Content-Length), half the body and close

    @property
    def is_after(self) -> bool:
        """Whether the upstream gets the request first: it commits, and the client loses the answer."""
        return self.value.endswith('_after')


ALL_FAULTS: tuple[Fault, ...] = tuple(Fault)


@dataclass(kw_only=True, eq=False)
class Rule:
    """Requests matching ``method`` (None: any) and ``path`` (a regex, full match, no query) get a fault.

    Give one ``fault`` or several ``faults`` (one is chosen at random per hit). A hit fires with
    probability ``rate``, at most ``times`` times (None: no limit); a hit that does not fire falls
    through to the next rule. ``seconds`` is how long DELAY_BEFORE waits and HANG_AFTER hangs
    (None: the proxy's ``hang_seconds``).
    """

    fault: Fault | None = None
    faults: Sequence[Fault] = ()
    method: str | None = None
    path: str = '.*'
    rate: float = 1.0
    times: int | None = None
    status: int = 503
    retry_after: float | None = None
    seconds: float | None = None
    forward: bool = True
    fired: int = field(default=0, init=False)  #: how often it fired (the proxy counts)
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.fault is None) == (not self.faults):
            raise ValueError('a Rule takes either fault or faults')
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f'rate must be within [0, 1], got {self.rate}')
        self.fault = None if self.fault is None else Fault(self.fault)
        self.faults = tuple(Fault(kind) for kind in self.faults)
        self.method = self.method.upper() if self.method else None
        self.pattern = re.compile(self.path)

    @property
    def kinds(self) -> tuple[Fault, ...]:
        """The faults this rule chooses from."""
        return (self.fault,) if self.fault is not None else tuple(self.faults)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is one this rule is about (ignoring rate and times)."""
        return self.method in (None, method) and self.pattern.fullmatch(path) is not None


@dataclass(frozen=True)
class FiredFault:
    """One injected fault, and what the upstream answered when it was forwarded."""

    kind: Fault
    method: str
    path: str
    upstream_status: int | None  #: None: the upstream never answered (never saw it, or failed)

    @property
    def upstream_saw(self) -> bool:
        """Whether the upstream got (and answered) the request."""
        return self.upstream_status is not None


@dataclass(frozen=True)
class ChaosStats:
    """A snapshot of the proxy's counters; keys are ``(method, path)``, paths without the query."""

    received: Counter[tuple[str, str]]  #: whole requests read from clients
    forwarded: Counter[tuple[str, str]]  #: requests the upstream answered
    upstream_status: Counter[tuple[str, str, int]]  #: ``(method, path, status)`` of the upstream's answers
    upstream_errors: Counter[tuple[str, str]]  #: forwards that failed (the client got a 502)
    fired: tuple[FiredFault, ...]
    connections: int  #: client connections accepted
    errors: tuple[str, ...]  #: unexpected errors in the proxy itself (a test should expect none)

    def committed(self, method: str) -> Counter[str]:
        """Per path, how often the upstream answered ``method`` with a 2xx."""
        return Counter(
            {p: n for (m, p, status), n in self.upstream_status.items() if m == method and 200 <= status < 300}
        )

    def fired_counts(self) -> Counter[Fault]:
        """How often each kind of fault fired."""
        return Counter(f.kind for f in self.fired)

    def ambiguous(self) -> tuple[FiredFault, ...]:
        """The after-kind faults on requests the upstream answered 2xx: done upstream, an error for the client."""
        return tuple(
            f for f in self.fired if f.kind.is_after and f.upstream_status is not None and f.upstream_status < 300
        )


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    path: str
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class _Reply:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ChaosProxy:
    """The proxy: ``with ChaosProxy(upstream, seed=1) as proxy:`` serves ``proxy.url`` from a background thread.

    Rules may be added, changed and cleared while it runs (from any thread). Closing ends hung and
    delayed exchanges at once.
    """

    def __init__(
        self, upstream: str, *, seed: int | None = 0, hang_seconds: float = 30.0, upstream_timeout: float = 60.0
    ) -> None:
        self.upstream = upstream.rstrip('/')
        self.hang_seconds = hang_seconds
        self.upstream_timeout = upstream_timeout
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._reset_counters()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    # lifecycle

    @property
    def url(self) -> str:
        """The proxy's base URL, ``http://127.0.0.1:PORT/``."""
        if self._port is None:
            raise RuntimeError('the proxy is not running')
        return f'http://127.0.0.1:{self._port}/'

    def start(self) -> Self:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError('the proxy is already running')
        self._thread = threading.Thread(target=self._run, name='chaos-proxy', daemon=True)
        self._thread.start()
        if not self._started.wait(10) or self._failure is not None:
            self.close()
            raise RuntimeError('the chaos proxy did not start') from self._failure
        return self

    def close(self) -> None:
        """Stop serving: cut every open exchange (hung ones too) and close the upstream connections."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # rules

    def add(self, rule: Rule) -> Rule:
        """Append a rule (rules are tried in order); returns it."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Rule) -> None:
        """Drop one rule."""
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        """Drop every rule: from now on every request is forwarded as is."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in the order they are tried."""
        with self._lock:
            return tuple(self._rules)

    def set_rate_for_all(self, rate: float) -> None:
        """Give every rule the same firing probability (0 pauses them all)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f'rate must be within [0, 1], got {rate}')
        with self._lock:
            for rule in self._rules:
                rule.rate = rate

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence that decides which hits fire."""
        with self._lock:
            self._rng.seed(seed)

    # counters

    @property
    def stats(self) -> ChaosStats:
        """A consistent copy of the counters and the fired-fault log."""
        with self._lock:
            return ChaosStats(
                received=Counter(self._received),
                forwarded=Counter(self._forwarded),
                upstream_status=Counter(self._upstream_status),
                upstream_errors=Counter(self._upstream_errors),
                fired=tuple(self._fired),
                connections=self._connections,
                errors=tuple(self._errors),
            )

    def reset_stats(self) -> None:
        """Zero the counters and empty the fired-fault log."""
        with self._lock:
            self._reset_counters()

    def _reset_counters(self) -> None:
        self._received: Counter[tuple[str, str]] = Counter()
        self._forwarded: Counter[tuple[str, str]] = Counter()
        self._upstream_status: Counter[tuple[str, str, int]] = Counter()
        self._upstream_errors: Counter[tuple[str, str]] = Counter()
        self._fired: list[FiredFault] = []
        self._connections = 0
        self._errors: list[str] = []

    def _pick(self, method: str, path: str) -> tuple[Fault, Rule] | None:
        """Count a received request and choose its fault, if a rule fires."""
        with self._lock:
            self._received[(method, path)] += 1
            for rule in self._rules:
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if not rule.matches(method, path) or (rule.rate < 1.0 and self._rng.random() >= rule.rate):
                    continue
                kinds = rule.kinds
                rule.fired += 1
                return (kinds[0] if len(kinds) == 1 else self._rng.choice(kinds)), rule
        return None

    def _record(self, kind: Fault, request: _Request, reply: _Reply | None) -> None:
        with self._lock:
            self._fired.append(FiredFault(kind, request.method, request.path, None if reply is None else reply.status))

    # the event loop

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start(), or lost with the daemon thread
            self._failure = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=2),  # under uvicorn's 5 s: no stale reuse
            timeout=aiohttp.ClientTimeout(total=self.upstream_timeout),
            auto_decompress=False,  # pass the body on as the upstream encoded it
            cookie_jar=aiohttp.DummyCookieJar(),  # the clients keep their own cookies
            skip_auto_headers=('Accept', 'Accept-Encoding', 'User-Agent', 'Content-Type'),  # only the client's
        )
        async with session:
            self._session = session
            server = await asyncio.start_server(self._serve, '127.0.0.1', 0, backlog=512)
            self._port = server.sockets[0].getsockname()[1]
            self._started.set()
            try:
                await self._stop.wait()
            finally:
                server.close()
                await asyncio.sleep(0)  # handlers of connections accepted just now start and register
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 1)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self._connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while (request := await _read_request(conn, reader, writer)) is not None:
                if not await self._exchange(conn, reader, writer, request) or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (OSError, h11.ProtocolError):
            pass  # the client left or spoke bad HTTP: nothing to answer
        except asyncio.CancelledError:
            writer.transport.abort()  # the proxy is closing; ending normally keeps asyncio from logging it
        except Exception as exc:
            with self._lock:
                self._errors.append(repr(exc))
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _exchange(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: _Request
    ) -> bool:
        """Answer one request (or inject a fault); returns whether the connection stays open."""
        picked = self._pick(request.method, request.path)
        if picked is None:
            return await _answer(conn, writer, await self._forward(request) or _bad_gateway(), request.method)
        kind, rule = picked
        seconds = self.hang_seconds if rule.seconds is None else rule.seconds
        if kind is Fault.DELAY_BEFORE:
            return await self._delay(conn, writer, request, seconds, rule.forward)
        reply = await self._forward(request) if kind.is_after else None
        self._record(kind, request, reply)
        if kind in (Fault.STATUS_BEFORE, Fault.STATUS_AFTER):
            return await _answer(conn, writer, _status_reply(rule, kind), request.method)
        if kind in (Fault.RESET_BEFORE, Fault.RESET_AFTER):
            _reset(writer)
        elif kind is Fault.HANG_AFTER:
            await _linger(reader, seconds)
        elif kind is Fault.TRUNCATE_AFTER:
            await _truncate(conn, writer, reply or _bad_gateway(), request.method)
        return False

    async def _delay(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, request: _Request, seconds: float, forward: bool
    ) -> bool:
        reply = None
        try:
            await asyncio.sleep(seconds)
            if forward:  # delivered late, even if the client has given up by now
                reply = await self._forward(request)
        finally:
            self._record(Fault.DELAY_BEFORE, request, reply)
        return reply is not None and await _answer(conn, writer, reply, request.method)

    async def _forward(self, request: _Request) -> _Reply | None:
        """Send the request upstream and read the whole answer; None when the upstream failed."""
        assert self._session is not None
        key = (request.method, request.path)
        url = yarl.URL(self.upstream + request.target, encoded=True)
        try:
            async with self._session.request(
                request.method, url, headers=_request_headers(request), data=request.body or None
            ) as response:
                body = await response.read()  # de-chunked, still content-encoded
        except (aiohttp.ClientError, TimeoutError):
            with self._lock:
                self._upstream_errors[key] += 1
            return None
        with self._lock:
            self._forwarded[key] += 1
            self._upstream_status[(*key, response.status)] += 1
        reason = (response.reason or '').encode('latin-1', 'replace')
        return _Reply(response.status, reason, list(response.raw_headers), body)


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _Request | None:
    """The next whole request on the connection, or None when the client closed it between requests."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if conn.they_are_waiting_for_100_continue:
                await _write(writer, conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            conn.receive_data(await reader.read(READ_SIZE))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            target = head.target.decode('latin-1')
            path = target.partition('?')[0]
            return _Request(head.method.decode('ascii'), target, path, list(head.headers), bytes(body))
        else:
            return None


def _request_headers(request: _Request) -> CIMultiDict[str]:
    """The client's headers minus hop-by-hop ones (``Host`` stays), with the body framed by its length."""
    drop = _hop_by_hop(request.headers) | {b'content-length'}
    kept = CIMultiDict((n.decode('latin-1'), v.decode('latin-1')) for n, v in request.headers if n.lower() not in drop)
    if request.body or any(name.lower() in (b'content-length', b'transfer-encoding') for name, _ in request.headers):
        kept['Content-Length'] = str(len(request.body))
    return kept


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    named = {
        token.strip().lower() for name, value in headers if name.lower() == b'connection' for token in value.split(b',')
    }
    return HOP_BY_HOP | named


def _frame(conn: h11.Connection, reply: _Reply, method: str) -> tuple[bytes, bytes]:
    """The response head and body bytes, framed with ``Content-Length``."""
    bodiless = method == 'HEAD' or reply.status in (204, 304)
    headers = [(n, v) for n, v in reply.headers if n.lower() not in _hop_by_hop(reply.headers) | {b'content-length'}]
    if not bodiless:
        headers.append((b'content-length', str(len(reply.body)).encode()))
    elif reply.status != 204:  # HEAD and 304 announce the length a GET would get
        headers += [(n, v) for n, v in reply.headers if n.lower() == b'content-length'][:1]
    head = conn.send(h11.Response(status_code=reply.status, headers=headers, reason=reply.reason))
    data = conn.send(h11.Data(data=reply.body)) if reply.body and not bodiless else b''
    return head, data or b''


async def _answer(conn: h11.Connection, writer: asyncio.StreamWriter, reply: _Reply, method: str) -> bool:
    head, data = _frame(conn, reply, method)
    await _write(writer, head + data + (conn.send(h11.EndOfMessage()) or b''))
    return conn.our_state is h11.DONE


async def _truncate(conn: h11.Connection, writer: asyncio.StreamWriter, reply: _Reply, method: str) -> None:
    """Send the head with the full ``Content-Length`` but half the body (half the head if there is no body)."""
    head, data = _frame(conn, reply, method)
    await _write(writer, (head + data[: len(data) // 2]) if data else head[: len(head) // 2])


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: linger on, timeout 0, so the kernel drops the connection instead of a FIN."""
    sock = writer.get_extra_info('socket')
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    writer.transport.abort()


async def _linger(reader: asyncio.StreamReader, seconds: float) -> None:
    """Stay silent for ``seconds``, or until the client closes its side."""

    async def until_eof() -> None:
        while await reader.read(READ_SIZE):
            pass

    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(until_eof(), seconds)


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def _status_reply(rule: Rule, kind: Fault) -> _Reply:
    headers = [(b'content-type', b'application/json')]
    if rule.retry_after is not None:
        headers.append((b'retry-after', f'{rule.retry_after:g}'.encode()))
    body = f'{{"detail": "injected fault: {kind.value} {rule.status}"}}'.encode()
    return _Reply(rule.status, _phrase(rule.status), headers, body)


def _phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b''


def _bad_gateway() -> _Reply:
    return _Reply(502, b'Bad Gateway', [(b'content-type', b'application/json')], b'{"detail": "upstream failed"}')
