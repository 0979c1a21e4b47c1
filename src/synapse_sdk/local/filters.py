"""Django-style query filters (``status``, ``status__in``, ``created_at__gte`` ...) → SQL clauses.

An unknown key is refused with 400 ``Unknown filter 'x'``: ignoring it would select the wrong rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, func, select

__all__ = [
    'INT64_MAX',
    'INT64_MIN',
    'FilterField',
    'build_clauses',
    'in_int64',
    'in_values',
    'parse_datetime',
    'parse_int',
    'parse_str',
    'query_multi',
]

_NULLS = frozenset({'', 'null', 'none'})

#: SQLite integers (and so every id) are signed 64-bit.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _OutOfRange(ValueError):
    """A well-formed value the database cannot hold; its message is what was expected instead."""


def in_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def parse_int(raw: str) -> int:
    value = int(raw)
    if not in_int64(value):
        raise _OutOfRange(f'an integer from {INT64_MIN} to {INT64_MAX}')
    return value


def parse_str(raw: str) -> str:
    return raw


def parse_datetime(raw: str) -> datetime:
    """ISO date (00:00 of that day, Django semantics) or datetime; aware values become naive UTC."""
    text = raw.strip().replace(' ', 'T')
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time())
    value = datetime.fromisoformat(text.replace('Z', '+00:00'))
    try:
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise _OutOfRange('a date and time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z') from None


_EXPECTS: dict[Callable[[str], Any], str] = {
    parse_int: 'an integer',
    parse_str: 'a string',
    parse_datetime: 'an ISO date or datetime',
}


@dataclass(frozen=True)
class FilterField:
    column: Any  # an ORM attribute or SQL expression
    parse: Callable[[str], Any] = parse_str
    nullable: bool = False
    ranges: bool = False  # allows __gte/__lte/__gt/__lt


#: From this many values on, ``IN`` takes the list as one JSON parameter (see :func:`in_values`).
_JSON_IN_FROM = 16


def in_values(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``. A long list of ints or strings is sent as one JSON text read by
    ``json_each``: one bound parameter instead of hundreds, so the statement is compiled once and
    cached whatever the list's length."""
    if len(values) >= _JSON_IN_FROM and all(type(v) in (int, str) for v in values):
        listed = func.json_each(json.dumps(list(values))).table_valued('value')
        return column.in_(select(listed.c.value))
    return column.in_(values)


def _convert(key: str, field: FilterField, raw: str) -> Any:
    if raw.strip().lower() in _NULLS and field.nullable:
        return None
    try:
        return field.parse(raw)
    except (ValueError, OverflowError) as exc:
        expected = str(exc) if isinstance(exc, _OutOfRange) else _EXPECTS.get(field.parse, 'a valid value')
        if field.nullable:
            expected += ' or null'
        raise HTTPException(400, f"Invalid value '{raw}' for filter '{key}': expected {expected}") from None


def _clause(key: str, field: FilterField, lookup: str, values: Sequence[str]) -> ColumnElement[bool]:
    col = field.column
    if lookup == 'in':
        items = [_convert(key, field, part) for raw in values for part in raw.split(',') if part.strip() != '']
        present = [v for v in items if v is not None]
        clause = in_values(col, present)
        return clause | col.is_(None) if len(present) < len(items) else clause
    if lookup == 'isnull':
        wanted = values[-1].strip().lower() in ('true', '1', 'yes')
        return col.is_(None) if wanted else col.is_not(None)
    value = _convert(key, field, values[-1])
    if lookup == 'exact':
        return col.is_(None) if value is None else col == value
    ops = {'gte': col.__ge__, 'lte': col.__le__, 'gt': col.__gt__, 'lt': col.__lt__}
    return ops[lookup](value)


def build_clauses(
    params: Mapping[str, Sequence[str]], fields: Mapping[str, FilterField], reserved: frozenset[str]
) -> list[ColumnElement[bool]]:
    """One SQL clause per filter key (combined with AND by the caller)."""
    clauses = []
    for key, values in params.items():
        if key in reserved:
            continue
        name, _, lookup = key.partition('__')
        lookup = lookup or 'exact'
        field = fields.get(name)
        allowed = {'exact', 'in', 'isnull'} | ({'gte', 'lte', 'gt', 'lt'} if field and field.ranges else set())
        if field is None or lookup not in allowed:
            raise HTTPException(400, f"Unknown filter '{key}'")
        clauses.append(_clause(key, field, lookup, values))
    return clauses


def query_multi(query_params: Any) -> dict[str, list[str]]:
    """Starlette ``QueryParams`` → ``{key: [values]}``."""
    out: dict[str, list[str]] = {}
    for key, value in query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out
