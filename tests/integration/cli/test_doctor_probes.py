"""`synapse doctor`'s probes against real sockets: each fails within its bound, naming the address and the fix."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synapse_sdk.cli._doctor_checks import Context, Status, check_backend, check_config
from synapse_sdk.cli._doctor_machine import check_ray

HOW = (
    'start a cluster with `ray start --head` (it prints the address to use) and pass that address '
    "(--ray-address / ray_address=, e.g. '127.0.0.1:6379'), or use 'auto' for the cluster running on this machine"
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_an_unreachable_backend_fails_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv('SYNAPSE_HOST', f'http://127.0.0.1:{port}')
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'some-token-123456')
    ctx = Context()
    check_config(ctx)
    started = time.monotonic()
    check = check_backend(ctx)
    assert time.monotonic() - started < 5
    assert check.status is Status.FAIL
    assert check.detail.startswith(f'cannot reach http://127.0.0.1:{port} (host from SYNAPSE_HOST): Could not connect')
    assert 'some-token-123456' not in check.line()
    ctx.close()


def test_ray_on_a_closed_port_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv('RAY_ADDRESS', f'127.0.0.1:{port}')
    started = time.monotonic()
    check = check_ray(Context())
    assert time.monotonic() - started < 2
    assert check.line() == (
        f"FAIL  ray       Cannot connect to the Ray cluster at '127.0.0.1:{port}': nothing accepts connections on "
        f'127.0.0.1:{port} (connection refused); fix: {HOW}'
    )


def test_ray_on_a_silent_port_fails_within_its_timeout(monkeypatch: pytest.MonkeyPatch, silent_port: int) -> None:
    monkeypatch.setenv('RAY_ADDRESS', f'127.0.0.1:{silent_port}')
    started = time.monotonic()
    check = check_ray(Context(ray_timeout=1.0))
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed
    assert check.detail == (
        f"Cannot connect to the Ray cluster at '127.0.0.1:{silent_port}': no answer from 127.0.0.1:{silent_port} "
        'within 1 s'
    )


def test_ray_address_without_a_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('RAY_ADDRESS', 'headnode')
    check = check_ray(Context())
    assert check.detail == "Cannot connect to the Ray cluster at 'headnode': give it as host:port"
    assert check.fix == HOW


class _Dashboard(BaseHTTPRequestHandler):
    """Answers ``/api/version`` as Ray's dashboard does: 401 without the cluster's token."""

    token = 'cluster-token-abcdef'

    def do_GET(self) -> None:
        ok = self.path == '/api/version' and self.headers.get('Authorization') == f'Bearer {self.token}'
        self.send_response(200 if ok else 401)
        self.end_headers()
        self.wfile.write(b'{"ray_version": "2.60.0"}' if ok else b'Unauthenticated')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dashboard() -> Iterator[str]:
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Dashboard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_the_jobs_api_checks_this_machines_ray_token(dashboard: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('RAY_API_SERVER_ADDRESS', dashboard)
    refused = check_ray(Context())
    assert refused.line() == (
        f'FAIL  ray       the Ray Jobs API at {dashboard} refused this client (401): the cluster uses Ray token '
        "authentication and no token was found on this machine; fix: set RAY_AUTH_TOKEN to the cluster's token "
        'or save it in ~/.ray/auth_token (`ray get-auth-token` on the head node prints it)'
    )
    monkeypatch.setenv('RAY_AUTH_TOKEN', _Dashboard.token)
    accepted = check_ray(Context())
    assert accepted.line() == (
        f'PASS  ray       the Jobs API at {dashboard} answers as Ray; auth: token authentication with the token '
        'from RAY_AUTH_TOKEN'
    )
    assert _Dashboard.token not in refused.line() + accepted.line()


def test_a_jobs_api_that_is_not_there_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv('RAY_ADDRESS', f'http://127.0.0.1:{port}')
    started = time.monotonic()
    check = check_ray(Context())
    assert time.monotonic() - started < 2
    assert check.detail == f'the Ray Jobs API at http://127.0.0.1:{port} cannot be reached (ConnectError)'
