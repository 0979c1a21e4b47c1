"""Helpers shared by the routers."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import INT64_MAX, INT64_MIN, in_int64
from synapse_sdk.local.presign import DEFAULT_TTL_SECONDS, expiry, load_signing_key
from synapse_sdk.local.state import AppState, get_state
from synapse_sdk.local.storage import FileLinks, UnsafeFileName, safe_file_name

__all__ = [
    'PRESIGN_TTL_KEY',
    'DbInt',
    'StrictBody',
    'base_url',
    'file_links',
    'file_links_async',
    'get_or_404',
    'path_id',
    'signing_key',
    'signing_key_async',
    'upload_name',
]

T = TypeVar('T')

#: An integer a body may carry into the database (ids, counters): SQLite integers are signed 64-bit.
DbInt = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]

#: ``AppState.extras`` key: seconds a presigned file link works (default :data:`DEFAULT_TTL_SECONDS`).
PRESIGN_TTL_KEY = 'presigned_url_ttl_seconds'
_SIGNING_KEY = 'signing_key'
_DIGITS = re.compile(r'[0-9]{1,19}')


class StrictBody(BaseModel):
    """Request bodies refuse unknown keys, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra='forbid')


def base_url(request: Request) -> str:
    return str(request.base_url)


def signing_key(state: AppState) -> bytes:
    """The key of this backend's presigned links (read, or made, once per app)."""
    key = state.extras.get(_SIGNING_KEY)
    if not isinstance(key, bytes):
        key = state.extras[_SIGNING_KEY] = load_signing_key(state.db)
    return key


def file_links(request: Request) -> FileLinks:
    """The file links of one response: presigned, all with the same expiry."""
    state = get_state(request)
    ttl = int(state.extras.get(PRESIGN_TTL_KEY, DEFAULT_TTL_SECONDS))
    return FileLinks(base_url(request), signing_key(state), expiry(ttl))


async def signing_key_async(state: AppState) -> bytes:
    """:func:`signing_key` for async routes: a key still to be read (or made) is, in a worker thread."""
    key = state.extras.get(_SIGNING_KEY)
    return key if isinstance(key, bytes) else await run_in_threadpool(signing_key, state)


async def file_links_async(request: Request) -> FileLinks:
    """:func:`file_links` for async routes (the event loop never waits for the database's write lock)."""
    await signing_key_async(get_state(request))
    return file_links(request)


def path_id(raw: str, label: str) -> int:
    """A path id written as plain decimal digits; 404 otherwise (``1.0``, ``+1`` or ``1_0`` name no row)."""
    if _DIGITS.fullmatch(raw) is None or not in_int64(int(raw)):
        raise HTTPException(404, f'{label} {raw} not found')
    return int(raw)


def upload_name(name: str | None, default: str) -> str:
    """The stored name of an upload: its last path component; 400 with the reason when no file can have it."""
    try:
        return safe_file_name(name or default)
    except UnsafeFileName as exc:
        raise HTTPException(400, f'file: {exc}') from None


def get_or_404(session: Session, model: type[T], ident: Any, label: str) -> T:
    """The row with this primary key; 404 naming it otherwise (also for ids no row can have)."""
    row = session.get(model, ident) if not isinstance(ident, int) or in_int64(ident) else None
    if row is None:
        raise HTTPException(404, f'{label} {ident} not found')
    return row
