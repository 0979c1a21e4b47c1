"""Connecting a driver to a Ray cluster in bounded time.

Given a wrong address (``--ray-address 127.0.0.1:9999``, or a port that is not Ray's) ``ray.init``
retries the GCS for minutes. :func:`check_reachable` first opens a TCP connection to the GCS port and
checks that a gRPC server answers there (a closed port fails at once, a silent one after ``timeout``
seconds); :func:`gcs_wait_environ` also bounds Ray's own GCS retries while ``ray.init`` runs. The
error is ours, naming the address and how to start a cluster or point to one.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from synapse_sdk.exceptions import ExecutorError
from synapse_sdk.plugins.executors.ray._auth import auth_failure_hint, init_ray, is_auth_failure
from synapse_sdk.plugins.executors.ray._ray import import_ray, loopback_environ
from synapse_sdk.utils.redact import redact

__all__ = ['CONNECT_TIMEOUT_ENV', 'DEFAULT_CONNECT_TIMEOUT', 'check_reachable', 'gcs_wait_environ', 'host_port']

#: Seconds a task-mode connection may take before it fails (``connect_timeout=`` changes it).
DEFAULT_CONNECT_TIMEOUT = 30.0
#: The same, from the environment (e.g. for the CLI).
CONNECT_TIMEOUT_ENV = 'SYNAPSE_RAY_CONNECT_TIMEOUT'
_GCS_WAIT_ENV = 'RAY_gcs_server_port_wait_time_s'
#: The HTTP/2 client preface and an empty SETTINGS frame; a gRPC server answers with its SETTINGS.
_H2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + b'\x00\x00\x00\x04\x00\x00\x00\x00\x00'
_H2_SETTINGS = 0x04
_HOW = (
    'Start a cluster with `ray start --head` (it prints the address to use) and pass that address '
    "(--ray-address / ray_address=, e.g. '127.0.0.1:6379'), or use 'auto' for the cluster running on this machine"
)


def connect_timeout(value: float | None) -> float:
    """``value``, else ``SYNAPSE_RAY_CONNECT_TIMEOUT``, else 30 s."""
    if value is not None:
        return float(value)
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, '').strip()
    if not raw:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        raise ExecutorError(f'{CONNECT_TIMEOUT_ENV} must be a number of seconds, got {raw!r}') from None


def host_port(address: str | None) -> tuple[str, int] | None:
    """The GCS (or Ray client) host and port of ``address``; None for ``auto``/unset (Ray finds it)."""
    if not address or address == 'auto':
        address = os.environ.get('RAY_ADDRESS') or None
        if not address or address == 'auto':
            return None
    parts = urlsplit(address if '://' in address else f'ray://{address}')
    try:
        port = parts.port
    except ValueError:
        raise ExecutorError(
            f'Cannot connect to the Ray cluster at {address!r}: the port is not a number. {_HOW}'
        ) from None
    if not parts.hostname or port is None:
        raise ExecutorError(f'Cannot connect to the Ray cluster at {address!r}: give it as host:port. {_HOW}')
    return parts.hostname, port


def check_reachable(address: str | None, timeout: float) -> None:
    """Fail fast (ExecutorError) unless a gRPC server (Ray's GCS or client server) answers at ``address``.

    A TCP connection first (a closed port fails at once), then the HTTP/2 preface: every gRPC server
    answers it with a SETTINGS frame at once, so a port that accepts connections but is not Ray's (or
    says nothing) fails within ``timeout`` instead of leaving ``ray.init`` retrying for minutes.
    Skipped for TLS clusters (``RAY_USE_TLS``), where the handshake comes first.
    """
    target = host_port(address)
    if target is None:
        return
    host, port = target
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if os.environ.get('RAY_USE_TLS', '').strip().lower() in ('1', 'true'):
                return
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock.sendall(_H2_PREFACE)
            reply = _read_frame_header(sock)
    except TimeoutError:
        reason = f'no answer from {host}:{port} within {timeout:g} s'
    except ConnectionRefusedError:
        reason = f'nothing accepts connections on {host}:{port} (connection refused)'
    except OSError as exc:
        reason = f'{host}:{port} cannot be reached ({exc.strerror or type(exc).__name__})'
    else:
        if len(reply) == 9 and reply[3] == _H2_SETTINGS:
            return
        reason = f'{host}:{port} answers, but not as a Ray cluster (GCS) port'
    raise ExecutorError(f'Cannot connect to the Ray cluster at {address!r}: {reason}. {_HOW}')


def _read_frame_header(sock: socket.socket) -> bytes:
    data = b''
    while len(data) < 9:
        chunk = sock.recv(9 - len(data))
        if not chunk:
            break
        data += chunk
    return data


def not_answering(address: str | None, timeout: float, detail: str) -> str:
    """The message of a cluster port that accepts connections but does not answer as Ray's GCS."""
    return (
        f'Cannot connect to the Ray cluster at {address!r}: {detail} (waited at most {timeout:g} s); '
        f'is it the GCS port of a running Ray head? {_HOW}'
    )


@contextmanager
def gcs_wait_environ(timeout: float) -> Iterator[None]:
    """Bound Ray's GCS connect retries (about one a second) to ``timeout`` while connecting.

    Only for the connection: the variable is restored afterwards, so it is not forwarded to workers.
    An explicit ``RAY_gcs_server_port_wait_time_s`` is left alone.
    """
    if _GCS_WAIT_ENV in os.environ:
        yield
        return
    os.environ[_GCS_WAIT_ENV] = str(max(1, int(timeout)))
    try:
        yield
    finally:
        os.environ.pop(_GCS_WAIT_ENV, None)


def connect_ray(address: str | None, timeout: float | None = None) -> Any:
    """The ``ray`` module, connected to ``address`` (an already connected one is kept): on 127.0.0.1 for a
    local cluster, within ``timeout`` (:func:`connect_timeout`), or ExecutorError saying why and what to do."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    loopback_environ()
    seconds = connect_timeout(timeout)
    check_reachable(address, seconds)
    started = time.monotonic()
    try:
        with gcs_wait_environ(seconds):
            init_ray(ray, address, log_to_driver=False, logging_level='WARNING')
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if not is_auth_failure(exc) and time.monotonic() - started >= seconds:
            raise ExecutorError(not_answering(address, seconds, _first_line(exc))) from exc
        raise ExecutorError(connect_failure(address, exc)) from exc
    return ray


def connect_failure(address: str | None, exc: BaseException) -> str:
    """The message of a failed ``ray.init``: the token refused (and how to give one), or Ray's first line."""
    where = f'Cannot connect to the Ray cluster at {address!r}'
    if is_auth_failure(exc):
        return f'{where}: {auth_failure_hint()}'
    return f'{where}: {_first_line(exc)}. Is it running? Start one with `ray start --head` or pass its address'


def _first_line(exc: BaseException) -> str:
    return (redact(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
