"""``sdk/tasks/`` (filtered listing), ``tasks/{id}/`` and ``annotate_task_data`` (in bulk: :mod:`.task_sets`).

The three reads and the write that ToTask sends per task are async endpoints over Core statements:
no worker-thread hand-off and no ORM objects per request. The annotate PUT is one
``UPDATE ... RETURNING`` in its own short ``BEGIN IMMEDIATE`` transaction (on SQLite older than
3.35, which lacks ``RETURNING``, an ``UPDATE`` then a ``SELECT`` in that transaction); when that
cannot start at once (another writer holds the lock) it waits for it in a worker thread instead
of on the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import Connection, bindparam, case, select, update

from synapse_sdk.local.db import BUSY
from synapse_sdk.local.filters import (
    FilterField,
    build_clauses,
    in_int64,
    parse_datetime,
    parse_int,
    parse_str,
    query_multi,
)
from synapse_sdk.local.models import DataUnit, Project, Task, utcnow
from synapse_sdk.local.pagination import RESERVED_PARAMS, Shape, paginate
from synapse_sdk.local.responses import FastJSONResponse
from synapse_sdk.local.routers import task_tags
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links_async, get_or_404
from synapse_sdk.local.serializers import iso, task_out
from synapse_sdk.local.state import State, get_state
from synapse_sdk.local.storage import FileLinks
from synapse_sdk.local.units import expand_units
from synapse_sdk.local.views import TASKS

router = APIRouter()
router.routes.extend(task_tags.router.routes)  # ``task_tags/``: served with the tasks (routes, not a sub-router)

_unit_collection = select(DataUnit.data_collection_id).where(DataUnit.id == Task.data_unit_id).scalar_subquery()

TASK_FILTERS = {
    'id': FilterField(Task.id, parse_int),
    'project': FilterField(Task.project_id, parse_int),
    'data_unit': FilterField(Task.data_unit_id, parse_int, nullable=True),
    'data_collection': FilterField(_unit_collection, parse_int, nullable=True),
    'status': FilterField(Task.status, parse_str),
    'assignee': FilterField(Task.assignee, parse_int, nullable=True),
    'created_at': FilterField(Task.created_at, parse_datetime, ranges=True),
    'updated_at': FilterField(Task.updated_at, parse_datetime, ranges=True),
}

#: serialized key → column
_COLUMNS = {
    'id': Task.id,
    'project': Task.project_id,
    'data_unit': Task.data_unit_id,
    'data': Task.data,
    'status': Task.status,
    'assignee': Task.assignee,
    'created_at': Task.created_at,
    'updated_at': Task.updated_at,
}
_TIMES = ('created_at', 'updated_at')
_ALL = tuple(_COLUMNS.values())


class TaskIn(StrictBody):
    project: DbInt
    data_unit: DbInt | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    status: str = Field(default='pending', min_length=1, max_length=32)
    assignee: DbInt | None = None


class AnnotateIn(StrictBody):
    action: Literal['submit']
    data: dict[str, Any]


def _render(
    conn: Connection, rows: Sequence[Any], keys: tuple[str, ...], shape: Shape, links: FileLinks | None
) -> list[dict[str, Any]]:
    """Rows of the selected columns → task dicts, data units inlined when ``expand=data_unit``."""
    items = [dict(zip(keys, (row,) if len(keys) == 1 else row, strict=True)) for row in rows]
    for key in _TIMES:
        if key in keys:
            for item in items:
                item[key] = iso(item[key])
    if links is not None and 'data_unit' in keys:
        units = expand_units(conn, {item['data_unit'] for item in items if item['data_unit'] is not None}, links)
        for item in items:
            item['data_unit'] = units.get(item['data_unit'], item['data_unit'])
    return items


async def _links(request: Request, shape: Shape) -> FileLinks | None:
    """The file links of an answer that inlines data units (None otherwise: no file is linked)."""
    return await file_links_async(request) if 'data_unit' in shape.expand else None


def _keys(shape: Shape) -> tuple[str, ...]:
    return tuple(shape.fields) if shape.fields else TASKS.fields


@lru_cache(maxsize=64)
def _get_one(keys: tuple[str, ...]) -> Any:
    """``SELECT <keys> FROM tasks WHERE id = :task_id``, built once per key set."""
    return select(*(_COLUMNS[key] for key in keys)).where(Task.id == bindparam('task_id'))


@router.get('/sdk/tasks/')
@router.get('/tasks/')
async def list_tasks(request: Request) -> FastJSONResponse:
    state = get_state(request)
    shape = TASKS.parse(request)
    query = query_multi(request.query_params)
    clauses = [*task_tags.tag_clauses(query), *build_clauses(query, TASK_FILTERS, RESERVED_PARAMS)]
    keys = _keys(shape)
    links = await _links(request, shape)
    with state.db.connect() as conn:
        stmt = select(*(_COLUMNS[key] for key in keys)).where(*clauses)
        page = paginate(request, state, conn, stmt, lambda rows: _render(conn, rows, keys, shape, links), TASKS, shape)
    return FastJSONResponse(page)


@router.post('/tasks/', status_code=201)
def create_task(body: TaskIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        get_or_404(session, Project, body.project, 'Project')
        if body.data_unit is not None:
            get_or_404(session, DataUnit, body.data_unit, 'Data unit')
        task = Task(
            project_id=body.project,
            data_unit_id=body.data_unit,
            data=body.data,
            status=body.status,
            assignee=body.assignee,
        )
        session.add(task)
        session.flush()
        return task_out(task)


@router.get('/tasks/{task_id}/')
async def get_task(task_id: int, request: Request) -> FastJSONResponse:
    state = get_state(request)
    shape = TASKS.parse(request, listing=False)
    keys = _keys(shape)
    links = await _links(request, shape)
    with state.db.connect() as conn:
        row = None
        if in_int64(task_id):
            row = conn.execute(_get_one(keys), {'task_id': task_id}).first()
        if row is None:
            raise HTTPException(404, f'Task {task_id} not found')
        return FastJSONResponse(_render(conn, [row], keys, shape, links)[0])


_new_data = bindparam('new_data', type_=Task.data.type)
#: Built once (compiled once): replace the data; ``updated_at`` moves only when the stored JSON text
#: changes, so an identical repeat changes nothing.
_UPDATE = (
    update(Task)
    .where(Task.id == bindparam('task_id'))
    .values(data=_new_data, updated_at=case((Task.data == _new_data, Task.updated_at), else_=bindparam('now')))
)
_UPDATE_RETURNING = _UPDATE.returning(*_ALL)
_SELECT_ALL = select(*_ALL).where(Task.id == bindparam('task_id'))


def _annotate_returning(conn: Connection, task_id: int, data: dict[str, Any]) -> Any:
    """The updated row in one statement (SQLite >= 3.35); None when there is no such task."""
    return conn.execute(_UPDATE_RETURNING, {'task_id': task_id, 'new_data': data, 'now': utcnow()}).first()


def _annotate_then_select(conn: Connection, task_id: int, data: dict[str, Any]) -> Any:
    """As :func:`_annotate_returning` for SQLite without ``RETURNING``: the row read back in the same transaction."""
    updated = conn.execute(_UPDATE, {'task_id': task_id, 'new_data': data, 'now': utcnow()})
    if updated.rowcount == 0:
        return None
    return conn.execute(_SELECT_ALL, {'task_id': task_id}).first()


RETURNING_SINCE = (3, 35, 0)  #: the first SQLite with ``UPDATE ... RETURNING``
Annotate = Callable[[Connection, int, dict[str, Any]], Any]


def annotate_for(sqlite_version: tuple[int, ...]) -> Annotate:
    """The annotate write for an SQLite of ``sqlite_version``."""
    return _annotate_returning if sqlite_version >= RETURNING_SINCE else _annotate_then_select


_annotate: Annotate = annotate_for(sqlite3.sqlite_version_info)  #: chosen once, for the SQLite this process links


def _annotate_waiting(state: Any, task_id: int, data: dict[str, Any]) -> Any:
    with state.db.write_connection() as conn:
        return _annotate(conn, task_id, data)


@router.put('/tasks/{task_id}/annotate_task_data/')
async def annotate_task_data(task_id: int, body: AnnotateIn, request: Request) -> FastJSONResponse:
    """Replace the task's data (``schema=any`` accepted; only the object shape is checked here)."""
    state = get_state(request)
    row = None
    if in_int64(task_id):
        written = state.db.write_now(lambda conn: _annotate(conn, task_id, body.data))
        row = await run_in_threadpool(_annotate_waiting, state, task_id, body.data) if written is BUSY else written
    if row is None:
        raise HTTPException(404, f'Task {task_id} not found')
    return FastJSONResponse(task_out(row))
