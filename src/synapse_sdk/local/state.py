"""What a running app holds, and the FastAPI dependency that hands it to routes.

Authentication is not a dependency: :class:`synapse_sdk.local.auth.AuthGate` checks every request
before routing, so a new route cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from synapse_sdk.local.auth import TokenVerifier
from synapse_sdk.local.db import Database
from synapse_sdk.local.paths import LocalPaths

__all__ = ['AppState', 'State', 'get_state']

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
