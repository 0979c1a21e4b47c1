"""The FastAPI application of the embedded local backend."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from synapse_sdk.local.auth import DEFAULT_TOKEN_CACHE_SECONDS, AuthGate, TokenVerifier
from synapse_sdk.local.errors import install_error_handlers
from synapse_sdk.local.limits import DEFAULT_MAX_JSON_BYTES, BodySizeLimit, form_route_matcher
from synapse_sdk.local.paths import LocalPaths, write_private_file
from synapse_sdk.local.routers import (
    agent,
    agents,
    assignments,
    data_units,
    datasets,
    jobs,
    logs,
    models,
    pipelines,
    plugins,
    projects,
    serve_applications,
    storages,
    task_sets,
    tasks,
)
from synapse_sdk.local.setup import ensure_instance, open_database
from synapse_sdk.local.state import AppState

__all__ = ['DEFAULT_MAX_JSON_BYTES', 'DEFAULT_MAX_UPLOAD_BYTES', 'create_app']

#: 2 GiB; override with ``create_app(max_upload_bytes=...)``.
DEFAULT_MAX_UPLOAD_BYTES = 2 << 30

#: One router per resource; the hot paths first, as routes are matched in this order.
ROUTERS = (
    tasks,
    task_sets,
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
    assignments,
    pipelines,
    agent,
)


def create_app(
    state_dir: str | os.PathLike[str] | LocalPaths | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
    token_cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS,
) -> Any:
    """Build the app over a state directory (tables are created if missing; nothing is deleted).

    Returns the ASGI app (a FastAPI behind the body-size limits and the token gate); the FastAPI
    instance and its :class:`AppState` are reachable as ``app.fastapi`` and ``app.state``.
    ``max_upload_bytes`` bounds file uploads (multipart), ``max_json_bytes`` every other body;
    ``token_cache_seconds`` is how long an accepted token is trusted before it is checked again.
    """
    for name, value in (('max_upload_bytes', max_upload_bytes), ('max_json_bytes', max_json_bytes)):
        if value < 1:
            raise ValueError(f'{name} must be a positive number of bytes, not {value}')
    paths = state_dir if isinstance(state_dir, LocalPaths) else LocalPaths.resolve(state_dir)
    db = open_database(paths)
    api = FastAPI(title='Synapse local backend', docs_url=None, redoc_url=None, openapi_url=None)
    verifier = TokenVerifier(db, cache_seconds=token_cache_seconds)
    api.state.synapse = AppState(
        paths=paths,
        db=db,
        verifier=verifier,
        max_upload_bytes=max_upload_bytes,
        max_json_bytes=min(max_json_bytes, max_upload_bytes),
    )
    install_error_handlers(api)

    instance_id = ensure_instance(db)

    @api.get('/health/')
    def health() -> dict[str, str]:
        """Open to all: liveness, and which backend answers (``synapse local status`` matches it to server.json)."""
        return {'status': 'ok', 'instance': instance_id}

    @api.get('/instance/')
    def instance() -> dict[str, str]:
        """Which backend this is: the id made with its database (stable across URLs and restarts)."""
        return {'id': instance_id, 'kind': 'synapse-local'}

    for module in ROUTERS:
        api.include_router(module.router)
    attach_review = _mount_review(api, paths)
    app = LocalApp(api, verifier, max_upload_bytes, max_json_bytes)
    attach_review(app)
    return app


SELF_URL = 'http://synapse.local/'  #: how the review pages' in-process client names this backend


def _mount_review(api: FastAPI, paths: LocalPaths) -> Callable[[Any], None]:
    """ToTask review pages under ``/review/`` (their own key, kept in ``<state dir>/review_key``).

    The pages reach this backend through an in-process client of this very app (its ASGI entry point,
    given by the returned setter) with the state directory's access token; the token gate lets
    ``/review/`` through (a browser sends no token header) and the review routes check the key.
    """
    from synapse_sdk.review.app import mount_review

    entry: dict[str, Any] = {}

    def client() -> Any:
        from synapse_sdk.clients.backend.client import BackendClient
        from synapse_sdk.clients.base.inprocess import SyncASGITransport
        from synapse_sdk.local.setup import read_local_token

        token = read_local_token(paths)
        if token is None:
            raise ValueError(f'{paths.token_file} is missing: run `synapse local init --new-token`')
        return BackendClient(SELF_URL, token, transport=SyncASGITransport(entry['app'], host='synapse.local'))

    key = review_key(paths)
    api.state.review_key = key
    api.state.review = mount_review(api, client, access_key=key)
    return lambda app: entry.__setitem__('app', app)


def review_key(paths: LocalPaths) -> str:
    """The backend's review key: made once (random), then read from ``review_key``."""
    from synapse_sdk.review.app import new_access_key

    file = paths.review_key_file
    try:
        key = file.read_text().strip()
    except FileNotFoundError:
        key = ''
    if not key:
        key = new_access_key()
        write_private_file(file, key)
    return key


class LocalApp(BodySizeLimit):
    """The ASGI entry point: the size limits, then the token gate, in front of the FastAPI app."""

    def __init__(
        self, api: FastAPI, verifier: TokenVerifier, max_upload_bytes: int, max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    ) -> None:
        super().__init__(
            AuthGate(api, verifier),
            max_upload_bytes,
            max_json_bytes=max_json_bytes,
            is_upload=form_route_matcher(lambda: api.router.routes),
        )
        self.fastapi = api

    @property
    def state(self) -> AppState:
        return self.fastapi.state.synapse

    def close(self) -> None:
        review = getattr(self.fastapi.state, 'review', None)
        if review is not None:
            review.close()  # the in-process client its pages made, if any
        self.state.db.dispose()
