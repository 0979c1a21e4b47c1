"""Reaching the local backend: HTTP to a running ``synapse local serve``, else in this process."""

from __future__ import annotations

import os
from typing import Any

import httpx

from synapse_sdk.clients.agent.client import AgentClient
from synapse_sdk.clients.backend.client import AsyncBackendClient, BackendClient
from synapse_sdk.clients.base.inprocess import AsyncASGIRouter, SyncASGITransport
from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.server_record import check_server
from synapse_sdk.local.setup import init_local, read_local_token

__all__ = ['IN_PROCESS_URL', 'connect_local', 'connect_local_agent', 'connect_local_async', 'running_server_url']

#: The base URL of an in-process backend (never resolved: requests go straight to the app).
IN_PROCESS_URL = 'http://synapse.local/'


def running_server_url(paths: LocalPaths) -> str | None:
    """The URL recorded by ``synapse local serve`` if that server still runs and answers as this backend.

    A stale record (its process gone, its pid reused by another process, another backend at its URL) is
    removed with a warning (:func:`synapse_sdk.local.server_record.check_server`).
    """
    status = check_server(paths)
    return status.record.url if status.state == 'running' and status.record is not None else None


def _token(paths: LocalPaths, access_token: str | None) -> str:
    if access_token:
        return access_token
    token = read_local_token(paths)
    if token is None:
        token = init_local(paths.root).token or read_local_token(paths)
    assert token is not None
    return token


def connect_local(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    access_token: str | None = None,
    tenant: str | None = None,
    in_process: bool | None = None,
    **kwargs: Any,
) -> BackendClient:
    """A sync client of the local backend (initialising the state directory on first use)."""
    paths = LocalPaths.resolve(state_dir)
    token = _token(paths, access_token)
    url = None if in_process else running_server_url(paths)
    if url is not None:
        return BackendClient(url, token, tenant=tenant, **kwargs)
    from synapse_sdk.local.app import create_app

    app = create_app(paths)
    transport = SyncASGITransport(app, host=httpx.URL(IN_PROCESS_URL).host, on_close=app.close)
    return BackendClient(IN_PROCESS_URL, token, tenant=tenant, transport=transport, **kwargs)


def connect_local_async(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    access_token: str | None = None,
    tenant: str | None = None,
    **kwargs: Any,
) -> AsyncBackendClient:
    """An async client of an in-process local backend."""
    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    transport = AsyncASGIRouter(create_app(paths), host=httpx.URL(IN_PROCESS_URL).host)
    return AsyncBackendClient(IN_PROCESS_URL, _token(paths, access_token), tenant=tenant, transport=transport, **kwargs)


def _local_agent_token(paths: LocalPaths) -> str:
    from synapse_sdk.local._agent_token import local_agent_token
    from synapse_sdk.local.setup import open_database

    if not paths.database.exists():
        init_local(paths.root)
    db = open_database(paths)
    try:
        token = local_agent_token(db, paths)
    finally:
        db.dispose()
    if token is None:
        raise RuntimeError(f'{paths.root} has no local agent; run `synapse local init --dir {paths.root}`')
    return token


def connect_local_agent(
    state_dir: str | os.PathLike[str] | None = None, *, in_process: bool | None = None, **kwargs: Any
) -> AgentClient:
    """A client of the local backend's own agent (``<backend>/agent/``), authenticated with its token.

    The token is read from ``<state dir>/agent_token`` (mode 0600); when that file is gone a new token is
    issued (the database keeps only digests, so the old one cannot be recovered).
    """
    paths = LocalPaths.resolve(state_dir)
    token = _local_agent_token(paths)
    url = None if in_process else running_server_url(paths)
    if url is not None:
        return AgentClient(f'{url.rstrip("/")}/agent/', token, **kwargs)
    from synapse_sdk.local.app import create_app

    app = create_app(paths)
    transport = SyncASGITransport(app, host=httpx.URL(IN_PROCESS_URL).host, on_close=app.close)
    return AgentClient(f'{IN_PROCESS_URL}agent/', token, transport=transport, **kwargs)
