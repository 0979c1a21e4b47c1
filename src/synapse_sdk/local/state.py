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
from synapse_sdk.local.limits import DEFAULT_MAX_JSON_BYTES
from synapse_sdk.local.paths import LocalPaths

__all__ = ['AppState', 'RunRequest', 'State', 'get_state']


@dataclass(frozen=True)
class RunRequest:
    """A run of a plugin action handed to the agent: which release, which action, with what."""

    code: str
    version: str
    release_id: int
    config: dict[str, Any]
    agent: int
    action: str
    params: dict[str, Any]
    job_id: int | None = None  #: the job row recorded for it (None for ``inference``: no job)
    language: str | None = None


#: Called by ``plugins/{code}/run/`` (after the job row is committed); the serve agent attaches here.
RunDispatcher = Callable[[RunRequest], Any]


@dataclass
class AppState:
    paths: LocalPaths
    db: Database
    verifier: TokenVerifier
    max_upload_bytes: int
    #: the limit of every body that is not a file upload (JSON above all)
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_page_size: int = 1000
    default_page_size: int = 100
    dispatcher: RunDispatcher | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    return request.app.state.synapse


State = Annotated[AppState, Depends(get_state)]
