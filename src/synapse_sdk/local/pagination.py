"""DRF-style pages (``{count, next, previous, results}``) and the query keys every resource shares.

``fields=a,b`` keeps only those keys, ``expand=x`` inlines a relation the resource can expand and
``ordering=-created_at,id`` sorts by whitelisted fields. A key a resource does not support is
refused with 400 naming it: silently ignoring it would hand back something else than was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.orm import Session

from synapse_sdk.local.state import AppState

__all__ = ['RESERVED_PARAMS', 'Shape', 'View', 'each', 'paginate', 'parse_csv', 'select_fields', 'shape_one']

#: Query keys that are never filters.
RESERVED_PARAMS = frozenset({'page', 'page_size', 'fields', 'expand', 'ordering'})

Render = Callable[[Sequence[Any]], list[dict[str, Any]]]


def parse_csv(request: Request, key: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(key):
        values.extend(part.strip() for part in raw.split(',') if part.strip())
    return values


def select_fields(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: item[name] for name in fields if name in item} if fields else item


def each(serialize: Callable[[Any], dict[str, Any]]) -> Render:
    """A page renderer from a one-row serializer."""
    return lambda rows: [serialize(row) for row in rows]


@dataclass(frozen=True)
class Shape:
    """What one request asked for: kept keys, expanded relations and the SQL ordering."""

    fields: list[str]
    expand: frozenset[str]
    order_by: list[Any]


@dataclass(frozen=True)
class View:
    """The keys (``fields=``), relations (``expand=``) and sort keys (``ordering=``) of one resource."""

    name: str
    fields: tuple[str, ...]
    ordering: Mapping[str, Any] = field(default_factory=dict)  #: name → column
    expandable: tuple[str, ...] = ()

    def parse(self, request: Request, *, listing: bool = True) -> Shape:
        fields = parse_csv(request, 'fields')
        unknown = sorted(set(fields) - set(self.fields))
        if unknown:
            raise HTTPException(400, f"Unknown field '{unknown[0]}' in fields; known: {', '.join(sorted(self.fields))}")
        expand = parse_csv(request, 'expand')
        refused = [name for name in expand if name not in self.expandable]
        if refused:
            offer = ', '.join(self.expandable) or f'nothing ({self.name} have no expandable relation)'
            raise HTTPException(400, f"Cannot expand '{refused[0]}'; expandable: {offer}")
        order_by = self._order_by(request) if listing else []
        return Shape(fields, frozenset(expand), order_by)

    def _order_by(self, request: Request) -> list[Any]:
        names = parse_csv(request, 'ordering') or (['id'] if 'id' in self.ordering else [])
        clauses, used = [], set()
        for raw in names:
            name = raw.removeprefix('-')
            column = self.ordering.get(name)
            if column is None or not name:
                allowed = ', '.join(sorted(self.ordering)) or 'none'
                raise HTTPException(400, f"Unknown ordering field '{raw}'; allowed: {allowed} (prefix - to reverse)")
            clauses.append(column.desc() if raw.startswith('-') else column.asc())
            used.add(name)
        if 'id' not in used and 'id' in self.ordering:
            clauses.append(self.ordering['id'].asc())  # a total order, so pages never overlap
        return clauses


def shape_one(request: Request, view: View, item: dict[str, Any]) -> dict[str, Any]:
    """A detail answer: ``fields=`` applied (and ``expand=`` checked) like in a listing."""
    return select_fields(item, view.parse(request, listing=False).fields)


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
    session: Session | Connection,
    stmt: Select[Any],
    render: Render,
    view: View,
    shape: Shape | None = None,
) -> dict[str, Any]:
    """Run ``stmt`` (ordered as asked) for the requested page and wrap the rendered rows in a DRF page."""
    shape = shape or view.parse(request)
    page = _positive_int(request, 'page', 1)
    size = min(_positive_int(request, 'page_size', state.default_page_size), state.max_page_size)
    count = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if page > 1 and (page - 1) * size >= count:
        raise HTTPException(404, 'Invalid page.')
    ordered = stmt.order_by(None).order_by(*shape.order_by)
    rows = session.execute(ordered.limit(size).offset((page - 1) * size)).all()
    results = render([row[0] if len(row) == 1 else row for row in rows])
    return {
        'count': count,
        'next': str(request.url.include_query_params(page=page + 1)) if page * size < count else None,
        'previous': str(request.url.include_query_params(page=page - 1)) if page > 1 else None,
        'results': [select_fields(item, shape.fields) for item in results],
    }
