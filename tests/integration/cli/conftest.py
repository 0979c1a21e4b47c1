"""A configured machine: ``synapse local serve`` (in a thread) for SYNAPSE_LOCAL_DIR, the config file pointing at it.

The server's record (``server.json``) is written as ``synapse local serve`` writes it, for this process
(which runs the server's thread), so the SDK finds the running server exactly as on a real machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from synapse_sdk.cli import agent, doctor, local
from synapse_sdk.cli.metavars import SynapseGroup


@dataclass(frozen=True)
class Served:
    url: str
    token: str
    state_dir: Path
    config_file: Path


@pytest.fixture(scope='session')
def synapse() -> typer.Typer:
    """The commands under test, mounted as the root app mounts them."""
    root = typer.Typer(name='synapse', cls=SynapseGroup, no_args_is_help=True, pretty_exceptions_enable=False)
    root.add_typer(agent.app, name='agent')
    root.add_typer(local.app, name='local')
    doctor.register(root)
    return root


@pytest.fixture(autouse=True)
def _no_ray_or_agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Ray address, no Ray token, no agent variables: each test sets what it needs."""
    ray = ('RAY_ADDRESS', 'RAY_API_SERVER_ADDRESS', 'RAY_DASHBOARD_ADDRESS', 'RAY_AUTH_TOKEN', 'RAY_AUTH_MODE')
    for name in (*ray, 'SYNAPSE_AGENT_URL', 'SYNAPSE_AGENT_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('RAY_AUTH_TOKEN_PATH', str(tmp_path / 'no-ray-token'))


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asgi_server: type) -> Iterator[Served]:
    from synapse_sdk.clients.credentials import write_config
    from synapse_sdk.local.app import create_app
    from synapse_sdk.local.paths import LocalPaths
    from synapse_sdk.local.server_record import write_record
    from synapse_sdk.local.setup import ensure_instance, init_local, open_database

    state_dir = tmp_path / 'served'
    token = init_local(state_dir).token
    assert token is not None
    paths = LocalPaths(state_dir)
    db = open_database(paths)
    instance = ensure_instance(db)
    db.dispose()
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(state_dir))
    app = create_app(state_dir)
    with asgi_server(app) as url:
        write_record(paths, url, instance)
        config_file = write_config({'host': url, 'access_token': token})
        yield Served(url, token, state_dir, config_file)
        paths.server_file.unlink(missing_ok=True)
    app.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def add_agent(served: Served) -> Callable[[str, str], dict[str, Any]]:
    """``add_agent(name, url)``: register another agent with the served backend (``POST agents/``)."""
    import httpx

    def add(name: str, url: str) -> dict[str, Any]:
        headers = {'Synapse-Access-Token': f'Token {served.token}'}
        answer = httpx.post(f'{served.url}agents/', json={'name': name, 'url': url}, headers=headers, timeout=10)
        answer.raise_for_status()
        created: dict[str, Any] = answer.json()
        return created

    return add
