"""The chaos proxy against a tiny real upstream: each fault happens on the socket, as the rule says."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.integration.chaos_proxy import ALL_FAULTS, ChaosProxy, Fault, FiredFault, Rule
from tests.integration.conftest import ServerThread

pytestmark = pytest.mark.integration

BIG = bytes(range(256)) * 400  # 102,400 bytes


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Upstream:
    """An ASGI app that records every request that reaches it.

    ``/slow`` takes 0.5 s, ``/chunked`` answers in chunks, ``/big`` answers ``BIG``, ``/files/...``
    answers file bytes; anything else answers JSON with a file URL built from ``Host``, as the backend does.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def paths(self, method: str | None = None) -> list[str]:
        return [s.path for s in self.seen if method in (None, s.method)]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope['type'] == 'http'
        body, more = b'', True
        while more:
            message = await receive()
            body += message.get('body', b'')
            more = message.get('more_body', False)
        headers = {k.decode(): v.decode() for k, v in scope['headers']}
        method, path = scope['method'], scope['path']
        self.seen.append(Seen(method, path, headers, body))
        if path == '/chunked':
            await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'x-kind', b'chunked')]})
            for part in (b'one,', b'two,', b'three'):
                await send({'type': 'http.response.body', 'body': part, 'more_body': True})
            await send({'type': 'http.response.body', 'body': b''})
            return
        if path == '/slow':
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            await asyncio.sleep(0.5)
            self.in_flight -= 1
        status, content, extra = self.answer(method, path, headers, body)
        response_headers = [(b'content-length', str(len(content)).encode()), *extra]
        await send({'type': 'http.response.start', 'status': status, 'headers': response_headers})
        await send({'type': 'http.response.body', 'body': content})

    @staticmethod
    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, list[Any]]:
        if path == '/big':
            return 200, BIG, []
        if path.startswith('/files/'):
            return 200, b'file-bytes', [(b'content-type', b'application/octet-stream')]
        data = {'method': method, 'path': path, 'body': body.decode(), 'file': f'http://{headers["host"]}/files/a.txt'}
        return (201 if method == 'POST' else 200), json.dumps(data).encode(), [(b'x-upstream', b'yes')]


@pytest.fixture(scope='module')
def served_upstream() -> Iterator[tuple[Upstream, str]]:
    """One upstream for the module: a uvicorn start and stop costs about 0.2 s."""
    app = Upstream()
    with ServerThread(app) as base_url:
        yield app, base_url


@pytest.fixture
def upstream(served_upstream: tuple[Upstream, str]) -> tuple[Upstream, str]:
    app, _ = served_upstream
    app.seen.clear()
    app.in_flight = app.max_in_flight = 0
    return served_upstream


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.01)


def raw_send(proxy: ChaosProxy, method: str, path: str, body: bytes = b'') -> socket.socket:
    """A bare socket with one request on it: the test reads exactly what the proxy put on the wire."""
    port = int(proxy.url.rsplit(':', 1)[1].strip('/'))
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    head = f'{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n'
    sock.sendall(head.encode() + body)
    return sock


def read_to_eof(sock: socket.socket) -> bytes:
    data = b''
    while chunk := sock.recv(65536):
        data += chunk
    return data


def split_response(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b'\r\n\r\n')
    status, *lines = head.decode().split('\r\n')
    return status, {k.lower(): v.strip() for k, v in (line.split(':', 1) for line in lines)}, body


def test_requests_and_answers_pass_through_one_kept_alive_connection(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        reply = client.post('/items/?page=2', content=b'payload', headers={'X-Test': 'yes', 'Connection': 'keep-alive'})
        for i in range(20):
            assert client.get(f'/items/{i}').status_code == 200
        stats = proxy.stats

    assert (reply.status_code, reply.headers['x-upstream'], reply.json()['body']) == (201, 'yes', 'payload')
    seen = app.seen[0]
    assert (seen.method, seen.path, seen.body, seen.headers['x-test']) == ('POST', '/items/', b'payload', 'yes')
    assert seen.headers['content-length'] == '7'
    assert 'connection' not in seen.headers  # hop-by-hop: not forwarded
    assert stats.connections == 1
    assert (
        stats.received == stats.forwarded == {('POST', '/items/'): 1, **{('GET', f'/items/{i}'): 1 for i in range(20)}}
    )
    assert stats.upstream_status[('POST', '/items/', 201)] == 1
    assert (stats.fired, stats.errors) == ((), ())


def test_the_host_header_is_kept_so_file_urls_point_back_at_the_proxy(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(timeout=5) as client:
        proxy_url = proxy.url
        file_url = client.get(proxy_url + 'tasks/1/').json()['file']
        content = client.get(file_url).content
        stats = proxy.stats

    assert app.seen[0].headers['host'] == proxy_url.removeprefix('http://').rstrip('/')
    assert (file_url, content) == (proxy_url + 'files/a.txt', b'file-bytes')
    assert stats.received[('GET', '/files/a.txt')] == 1


def test_chunked_upstream_answers_are_reframed_with_content_length(upstream):
    _, base_url = upstream
    with ChaosProxy(base_url) as proxy, raw_send(proxy, 'GET', '/chunked') as sock:
        sock.settimeout(5)
        data = b''
        while not data.endswith(b'three'):
            data += sock.recv(65536)
    status, headers, body = split_response(data)

    assert (status, body, headers['content-length'], headers['x-kind']) == (
        'HTTP/1.1 200 OK',
        b'one,two,three',
        '13',
        'chunked',
    )
    assert 'transfer-encoding' not in headers


@pytest.mark.parametrize(('status', 'retry_after'), [(503, None), (500, None), (429, 2)])
def test_status_before_answers_without_reaching_upstream(upstream, status, retry_after):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        proxy.add(
            Rule(method='PUT', path=r'/tasks/\d+/', fault=Fault.STATUS_BEFORE, status=status, retry_after=retry_after)
        )
        reply = client.put('/tasks/7/', content=b'{}')
        after = client.get('/tasks/7/')  # the connection stays usable
        stats = proxy.stats

    assert (reply.status_code, reply.headers.get('retry-after')) == (status, None if retry_after is None else '2')
    assert reply.json() == {'detail': f'injected fault: status_before {status}'}
    assert (after.status_code, app.paths('PUT'), stats.connections) == (200, [], 1)
    assert stats.fired == (FiredFault(Fault.STATUS_BEFORE, 'PUT', '/tasks/7/', None),)
    assert stats.forwarded == {('GET', '/tasks/7/'): 1}


@pytest.mark.parametrize('kind', [Fault.RESET_BEFORE, Fault.CLOSE_BEFORE])
def test_reset_or_close_before_reaches_nothing_upstream(upstream, kind):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy:
        proxy.add(Rule(fault=kind))
        with raw_send(proxy, 'PUT', '/tasks/1/', b'{}') as sock:
            if kind is Fault.RESET_BEFORE:
                with pytest.raises(ConnectionResetError):
                    sock.recv(65536)
            else:
                assert sock.recv(65536) == b''  # a clean FIN, no answer
        with httpx.Client(base_url=proxy.url, timeout=5) as client, pytest.raises(httpx.TransportError):
            client.put('/tasks/1/', content=b'{}')
        stats = proxy.stats

    assert (app.seen, stats.forwarded) == ([], {})
    assert stats.fired == (FiredFault(kind, 'PUT', '/tasks/1/', None),) * 2


def test_reset_after_lets_upstream_commit_and_resets_the_connection(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy:
        proxy.add(Rule(method='PUT', fault=Fault.RESET_AFTER))
        with raw_send(proxy, 'PUT', '/tasks/1/', b'{"a": 1}') as sock, pytest.raises(ConnectionResetError):
            sock.recv(65536)
        with httpx.Client(base_url=proxy.url, timeout=5) as client:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                client.put('/tasks/2/', content=b'{}')
            assert client.get('/tasks/2/').status_code == 200  # a new connection works
        stats = proxy.stats

    assert app.paths('PUT') == ['/tasks/1/', '/tasks/2/']
    assert stats.committed('PUT') == {'/tasks/1/': 1, '/tasks/2/': 1}
    assert (
        stats.ambiguous()
        == stats.fired
        == (
            FiredFault(Fault.RESET_AFTER, 'PUT', '/tasks/1/', 200),
            FiredFault(Fault.RESET_AFTER, 'PUT', '/tasks/2/', 200),
        )
    )


def test_truncate_after_sends_the_full_length_but_half_the_body(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy:
        proxy.add(Rule(method='GET', path='/big', fault=Fault.TRUNCATE_AFTER, times=2))
        with raw_send(proxy, 'GET', '/big') as sock:
            status, headers, body = split_response(read_to_eof(sock))
        with httpx.Client(base_url=proxy.url, timeout=5) as client:
            with pytest.raises(
                httpx.RemoteProtocolError, match=r'^peer closed connection without sending complete message body'
            ):
                client.get('/big')
            whole = client.get('/big').content  # times=2: the third is whole

    assert (status, headers['content-length'], body) == ('HTTP/1.1 200 OK', str(len(BIG)), BIG[: len(BIG) // 2])
    assert (whole, app.paths()) == (BIG, ['/big'] * 3)


def test_hang_after_lets_upstream_commit_and_the_client_times_out(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=httpx.Timeout(5, read=0.3)) as client:
        proxy.add(Rule(method='PUT', path=r'/tasks/\d+/', fault=Fault.HANG_AFTER))
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.put('/tasks/3/', content=b'{}')
        assert time.monotonic() - started >= 0.3
        stats = proxy.stats

    assert app.paths('PUT') == ['/tasks/3/']
    assert stats.ambiguous() == (FiredFault(Fault.HANG_AFTER, 'PUT', '/tasks/3/', 200),)


def test_status_after_lets_upstream_commit_and_answers_an_error(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        proxy.add(Rule(method='PUT', fault=Fault.STATUS_AFTER, status=500))
        reply = client.put('/tasks/4/', content=b'{}')
        stats = proxy.stats

    assert (reply.status_code, app.paths('PUT')) == (500, ['/tasks/4/'])
    assert stats.ambiguous() == (FiredFault(Fault.STATUS_AFTER, 'PUT', '/tasks/4/', 200),)


def test_delay_before_outlasts_the_client_and_still_forwards_late(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=httpx.Timeout(5, read=0.2)) as client:
        proxy.add(Rule(method='PUT', fault=Fault.DELAY_BEFORE, seconds=0.5, times=1))
        with pytest.raises(httpx.ReadTimeout):
            client.put('/tasks/5/', content=b'{}')
        assert app.seen == []  # the client gave up before the request arrived
        wait_until(lambda: app.paths('PUT') == ['/tasks/5/'])
        wait_until(lambda: len(proxy.stats.fired) == 1)
        stats = proxy.stats

    assert stats.fired == (FiredFault(Fault.DELAY_BEFORE, 'PUT', '/tasks/5/', 200),)


def test_delay_before_without_forward_closes_and_never_reaches_upstream(upstream):
    app, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        proxy.add(Rule(fault=Fault.DELAY_BEFORE, seconds=0.3, forward=False))
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            client.put('/tasks/6/', content=b'{}')
        assert time.monotonic() - started >= 0.3
        stats = proxy.stats

    assert (app.seen, stats.fired) == ([], (FiredFault(Fault.DELAY_BEFORE, 'PUT', '/tasks/6/', None),))


def test_seeded_rates_give_the_same_faults_for_the_same_requests(upstream):
    _, base_url = upstream

    def run(seed: int) -> tuple[list[int], list[Fault]]:
        with ChaosProxy(base_url, seed=seed) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
            proxy.add(Rule(method='GET', faults=[Fault.STATUS_BEFORE, Fault.STATUS_AFTER], status=500, rate=0.5))
            codes = [client.get(f'/items/{i}').status_code for i in range(40)]
            return codes, [f.kind for f in proxy.stats.fired]

    first, again, other = run(7), run(7), run(8)

    assert first == again
    assert first != other
    assert 10 < first[0].count(500) < 30
    assert set(first[1]) == {Fault.STATUS_BEFORE, Fault.STATUS_AFTER}


def test_rules_count_down_filter_by_method_and_change_while_running(upstream):
    _, base_url = upstream
    with ChaosProxy(base_url) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        once_twice = proxy.add(Rule(method='put', path=r'/tasks/\d+/', fault=Fault.STATUS_BEFORE, times=2))
        assert client.get('/tasks/1/').status_code == 200  # GET: not this rule's method
        assert [client.put('/tasks/1/', content=b'{}').status_code for _ in range(3)] == [503, 503, 200]
        assert once_twice.fired == 2

        proxy.add(Rule(path='/items/.*', fault=Fault.STATUS_BEFORE, status=500))
        assert client.get('/items/1').status_code == 500
        proxy.set_rate_for_all(0.0)
        assert client.get('/items/2').status_code == 200
        proxy.clear()
        assert (proxy.rules, client.get('/items/3').status_code) == ((), 200)
        proxy.reset_stats()
        assert proxy.stats.received == {}

    with pytest.raises(ValueError, match=r'^a Rule takes either fault or faults$'):
        Rule(fault=Fault.RESET_AFTER, faults=[Fault.HANG_AFTER])
    with pytest.raises(ValueError, match=r'^rate must be within \[0, 1\], got 1.5$'):
        Rule(fault=Fault.RESET_AFTER, rate=1.5)


def test_mixed_faults_leave_every_committed_write_either_seen_or_ambiguous(upstream):
    app, base_url = upstream
    ok: set[str] = set()
    timeout = httpx.Timeout(5, read=0.5)
    with ChaosProxy(base_url, seed=3) as proxy, httpx.Client(base_url=proxy.url, timeout=timeout) as client:
        proxy.add(Rule(faults=ALL_FAULTS, rate=0.4, seconds=0.1))
        for i in range(30):
            with contextlib.suppress(httpx.HTTPError):  # the client's view: an error, or an answer
                if client.put(f'/tasks/{i}/', content=b'{}').status_code == 200:
                    ok.add(f'/tasks/{i}/')
        stats = proxy.stats

    ambiguous = {f.path for f in stats.ambiguous()}
    assert set(stats.committed('PUT')) <= ok | ambiguous  # every write the upstream did, the client saw or may not know
    assert ok.isdisjoint(ambiguous)
    assert all(f.upstream_saw for f in stats.fired if f.kind.is_after)
    assert len(set(stats.fired_counts())) >= 5
    assert stats.errors == ()
    assert set(app.paths('PUT')) == set(stats.committed('PUT'))


def test_closing_is_quick_even_with_hung_connections(upstream):
    app, base_url = upstream
    proxy = ChaosProxy(base_url).start()  # hang_seconds: 30
    try:
        proxy.add(Rule(method='PUT', fault=Fault.HANG_AFTER))
        socks = [raw_send(proxy, 'PUT', f'/tasks/{i}/', b'{}') for i in range(8)]
        wait_until(lambda: len(proxy.stats.fired) == 8)
        started = time.monotonic()
        proxy.close()
        elapsed = time.monotonic() - started
        for sock in socks:
            with sock:
                try:
                    assert sock.recv(65536) == b''
                except ConnectionResetError:
                    pass
    finally:
        proxy.close()

    assert elapsed < 2
    assert len(app.paths('PUT')) == 8


def test_64_connections_are_served_at_once(upstream):
    app, base_url = upstream

    async def burst(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            replies = await asyncio.gather(*(client.get('/slow') for _ in range(64)))
        return [r.status_code for r in replies]

    with ChaosProxy(base_url) as proxy:
        started = time.monotonic()
        codes = asyncio.run(burst(proxy.url))
        elapsed = time.monotonic() - started
        stats = proxy.stats

    assert codes == [200] * 64
    assert (app.max_in_flight, stats.connections) == (64, 64)
    assert elapsed < 3  # one after the other would take 32 s
