"""Serving the review page on 127.0.0.1 (what ``synapse review RUN`` runs), until Ctrl-C."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from synapse_sdk.plugins.actions.to_task.record import open_run

__all__ = ['HOST', 'bind', 'review_url', 'serve_review']

HOST = '127.0.0.1'  #: the review page is served on the loopback interface only


def review_url(port: int, run_id: str, key: str, *, prefix: str = '/review') -> str:
    """The link to a run's page on this machine, carrying the server's key once."""
    return f'http://{HOST}:{port}{prefix}/{run_id}/?key={key}'


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port); a clear error when it is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(f'--port: cannot listen on {HOST}:{port} ({exc.strerror}); pass another port, or 0') from exc
    return sock


def serve_review(
    run_id: str,
    client_factory: Callable[[], Any],
    *,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the review of ``run_id`` (a unique prefix will do) until stopped; ``on_ready(url)`` once it listens."""
    import uvicorn

    from synapse_sdk.review.app import create_review_app

    with open_run(run_id) as record:  # an unknown run fails here, before anything listens
        full_id = record.run_id
    app = create_review_app(client_factory)
    sock = bind(port)
    url = review_url(sock.getsockname()[1], full_id, app.state.review_key)

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                on_ready(url)

    config = uvicorn.Config(app, log_level='warning', access_log=False, lifespan='on')
    try:
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()
