"""``synapse local serve``: uvicorn on 127.0.0.1, recording its URL for ``create_backend_client()``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.server_record import forget_record, write_record
from synapse_sdk.local.setup import ensure_instance, init_local, read_local_token

__all__ = ['is_loopback_host', 'running', 'serve']


def serve(
    host: str = '127.0.0.1',
    port: int = 8000,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    log_level: str = 'warning',
    agent_runner: bool = True,
    max_upload_bytes: int | None = None,
    max_json_bytes: int | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the backend until interrupted (the state directory is initialised first if needed).

    With ``agent_runner`` the local agent runs deployments, inference and jobs on a local Ray head that it
    starts on first need and stops with the server. Once the socket listens (``port=0``: a free port), the
    server is recorded in ``server.json`` (URL, pid, process start time, instance id) and ``on_ready(url)``
    is called; the record is removed on exit. Body limits default to :func:`create_app`'s.
    """
    import uvicorn

    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    init_local(paths.root)
    limits = {'max_upload_bytes': max_upload_bytes, 'max_json_bytes': max_json_bytes}
    app = create_app(paths, **{name: value for name, value in limits.items() if value is not None})
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    agents: list[Any] = []
    done = threading.Event()

    def announce() -> None:  # waits for the socket, then gives the agent its URL and records the server
        while not server.started:
            if done.wait(0.02):
                return
        url = _url(host, server.servers[0].sockets[0].getsockname()[1] if server.servers else port)
        token = read_local_token(paths)
        if agent_runner and token is not None:
            from synapse_sdk.local.serve_agent import attach_serve_agent

            agents.append(attach_serve_agent(app, url, token))
        write_record(paths, url, ensure_instance(app.state.db))
        if on_ready is not None:
            on_ready(url)

    watcher = threading.Thread(target=announce, name='synapse-local-record', daemon=True)
    watcher.start()
    try:
        server.run()
    finally:
        done.set()
        watcher.join(timeout=5)
        for agent in agents:
            agent.close()  # stops the local Ray head, if it was started
        app.close()
        forget_record(paths)


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine (every address it resolves to is loopback)."""
    import ipaddress
    import socket

    name = host.strip().strip('[]')
    if name.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(address).split('%')[0]).is_loopback for address in found)


def _url(host: str, port: int) -> str:
    """A URL clients can use: an any-address bind (0.0.0.0, ::) is reached on loopback."""
    if host in ('', '0.0.0.0'):
        host = '127.0.0.1'
    elif host == '::':
        host = '::1'
    return f'http://[{host}]:{port}/' if ':' in host else f'http://{host}:{port}/'


@contextmanager
def running(
    state_dir: str | os.PathLike[str] | None = None, *, port: int = 0, agent_runner: bool = False
) -> Iterator[str]:
    """``with running(dir) as url:`` the backend served on 127.0.0.1 by a thread of this process (notebooks,
    docs, tests); ``port=0`` picks a free port. With ``agent_runner`` its agent runs Ray as ``serve`` does."""
    import time

    import uvicorn

    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    init_local(paths.root)
    app = create_app(paths)
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='warning', lifespan='off'))
    thread = threading.Thread(target=server.run, name='synapse-local-backend', daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError('The local backend did not start')
        time.sleep(0.01)
    url = f'http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/'
    agent = None
    token = read_local_token(paths)
    if agent_runner and token is not None:
        from synapse_sdk.local.serve_agent import attach_serve_agent

        agent = attach_serve_agent(app, url, token)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if agent is not None:
            agent.close()
        app.close()
