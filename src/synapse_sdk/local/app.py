"""The FastAPI application of the embedded local backend."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from synapse_sdk.local.auth import AuthGate, TokenVerifier
from synapse_sdk.local.errors import install_error_handlers
from synapse_sdk.local.limits import BodySizeLimit
from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.routers import (
    agent,
    agents,
    data_units,
    datasets,
    jobs,
    logs,
    models,
    plugins,
    projects,
    serve_applications,
    storages,
    tasks,
)
from synapse_sdk.local.setup import ensure_instance, open_database
from synapse_sdk.local.state import AppState

__all__ = ['DEFAULT_MAX_UPLOAD_BYTES', 'create_app']

#: 2 GiB; override with ``create_app(max_upload_bytes=...)``.
DEFAULT_MAX_UPLOAD_BYTES = 2 << 30

#: One router per resource; the hot paths first, as routes are matched in this order.
ROUTERS = (
    tasks,
    data_units,
    projects,
    plugins,
    jobs,
    logs,
    agents,
    serve_applications,
    models,
    datasets,
    storages,
    agent,
)


def create_app(
    state_dir: str | os.PathLike[str] | LocalPaths | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> Any:
    """Build the app over a state directory (tables are created if missing; nothing is deleted).

    Returns the ASGI app (a FastAPI behind the body-size limit and the token gate); the FastAPI
    instance and its :class:`AppState` are reachable as ``app.fastapi`` and ``app.state``.
    """
    paths = state_dir if isinstance(state_dir, LocalPaths) else LocalPaths.resolve(state_dir)
    db = open_database(paths)
    api = FastAPI(title='Synapse local backend', docs_url=None, redoc_url=None, openapi_url=None)
    verifier = TokenVerifier(db)
    api.state.synapse = AppState(paths=paths, db=db, verifier=verifier, max_upload_bytes=max_upload_bytes)
    install_error_handlers(api)

    instance_id = ensure_instance(db)

    @api.get('/health/')
    def health() -> dict[str, str]:
        return {'status': 'ok'}

    @api.get('/instance/')
    def instance() -> dict[str, str]:
        """Which backend this is: the id made with its database (stable across URLs and restarts)."""
        return {'id': instance_id, 'kind': 'synapse-local'}

    for module in ROUTERS:
        api.include_router(module.router)
    return LocalApp(api, verifier, max_upload_bytes)


class LocalApp(BodySizeLimit):
    """The ASGI entry point: the size limit, then the token gate, in front of the FastAPI app."""

    def __init__(self, api: FastAPI, verifier: TokenVerifier, max_upload_bytes: int) -> None:
        super().__init__(AuthGate(api, verifier), max_upload_bytes)
        self.fastapi = api

    @property
    def state(self) -> AppState:
        return self.fastapi.state.synapse

    def close(self) -> None:
        self.state.db.dispose()
