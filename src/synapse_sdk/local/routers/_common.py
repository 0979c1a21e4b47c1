"""Helpers shared by the routers."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

__all__ = ['StrictBody', 'base_url', 'get_or_404']

T = TypeVar('T')


class StrictBody(BaseModel):
    """Request bodies refuse unknown keys, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra='forbid')


def base_url(request: Request) -> str:
    return str(request.base_url)


def get_or_404(session: Session, model: type[T], ident: Any, label: str) -> T:
    row = session.get(model, ident)
    if row is None:
        raise HTTPException(404, f'{label} {ident} not found')
    return row
