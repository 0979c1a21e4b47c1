"""Helpers shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import INT64_MAX, INT64_MIN, in_int64

__all__ = ['DbInt', 'StrictBody', 'base_url', 'get_or_404']

T = TypeVar('T')

#: An integer a body may carry into the database (ids, counters): SQLite integers are signed 64-bit.
DbInt = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class StrictBody(BaseModel):
    """Request bodies refuse unknown keys, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra='forbid')


def base_url(request: Request) -> str:
    return str(request.base_url)


def get_or_404(session: Session, model: type[T], ident: Any, label: str) -> T:
    """The row with this primary key; 404 naming it otherwise (also for ids no row can have)."""
    row = session.get(model, ident) if not isinstance(ident, int) or in_int64(ident) else None
    if row is None:
        raise HTTPException(404, f'{label} {ident} not found')
    return row
