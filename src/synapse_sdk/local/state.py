"""What a running app holds, and the FastAPI dependencies that hand it to routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from synapse_sdk.local.auth import TokenVerifier, parse_auth_headers
from synapse_sdk.local.db import Database
from synapse_sdk.local.paths import LocalPaths

__all__ = ['AppState', 'Authenticated', 'State', 'get_state', 'require_token']

#: Called by ``plugins/{code}/run/`` after the job row is committed; later issues attach Ray here.
RunDispatcher = Callable[['AppState', int, dict[str, Any]], Any]


@dataclass
class AppState:
    paths: LocalPaths
    db: Database
    verifier: TokenVerifier
    max_upload_bytes: int
    max_page_size: int = 1000
    default_page_size: int = 100
    dispatcher: RunDispatcher | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    return request.app.state.synapse


State = Annotated[AppState, Depends(get_state)]


def require_token(
    state: State,
    synapse_access_token: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """Accept ``Synapse-Access-Token: Token <t>`` or ``Authorization: Token <user token>``; else 401."""
    parsed = parse_auth_headers(synapse_access_token, authorization)
    if parsed is None:
        raise HTTPException(401, 'Authentication credentials were not provided.')
    if not state.verifier.verify(*parsed):
        raise HTTPException(401, 'Invalid token.')
    return parsed[0]


Authenticated = Depends(require_token)
