"""Integration fixtures: the local backend served by uvicorn on 127.0.0.1 (SQLite in a tmp dir)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class RunningBackend:
    base_url: str
    token: str
    state_dir: Path


class ServerThread:
    """Runs an ASGI app with uvicorn on 127.0.0.1, on a free port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host='127.0.0.1', port=0, log_level='warning', lifespan='off')
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name='uvicorn-test', daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError('uvicorn did not start')
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f'http://127.0.0.1:{port}/'

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope='session')
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """The real local backend over HTTP; yields ``base_url``, ``token`` and ``state_dir``."""
    from synapse_sdk.local.app import create_app
    from synapse_sdk.local.setup import init_local

    state_dir = tmp_path_factory.mktemp('synapse-local')
    token = init_local(state_dir).token
    assert token is not None
    app = create_app(state_dir)
    with ServerThread(app) as base_url:
        yield RunningBackend(base_url, token, state_dir)
    app.close()


@pytest.fixture
def asgi_server() -> type[ServerThread]:
    """``with asgi_server(app) as base_url:`` serves any ASGI app on 127.0.0.1 for the block."""
    return ServerThread
