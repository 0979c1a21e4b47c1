"""DRF-style pages (``{count, next, previous, results}``), ``fields=`` and ``expand=``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from synapse_sdk.local.state import AppState

__all__ = ['RESERVED_PARAMS', 'paginate', 'parse_csv', 'select_fields']

#: Query keys that are never filters.
RESERVED_PARAMS = frozenset({'page', 'page_size', 'fields', 'expand', 'ordering'})


def parse_csv(request: Request, key: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(key):
        values.extend(part.strip() for part in raw.split(',') if part.strip())
    return values


def select_fields(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: item[name] for name in fields if name in item} if fields else item


def check_fields(fields: Iterable[str], known: Iterable[str]) -> None:
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise HTTPException(400, f"Unknown field '{unknown[0]}' in fields; known: {', '.join(sorted(known))}")


def _positive_int(request: Request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw is None or raw == '':
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise HTTPException(400, f"Invalid value '{raw}' for {key}: expected a positive integer")
    return value


def paginate(
    request: Request,
    state: AppState,
    session: Session,
    stmt: Select[Any],
    serialize: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``stmt`` for the requested page and wrap the serialized rows in a DRF page."""
    page = _positive_int(request, 'page', 1)
    size = min(_positive_int(request, 'page_size', state.default_page_size), state.max_page_size)
    count = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if page > 1 and (page - 1) * size >= count:
        raise HTTPException(404, 'Invalid page.')
    rows = session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    results = [serialize(row[0] if len(row) == 1 else row) for row in rows]
    return {
        'count': count,
        'next': str(request.url.include_query_params(page=page + 1)) if page * size < count else None,
        'previous': str(request.url.include_query_params(page=page - 1)) if page > 1 else None,
        'results': results,
    }
