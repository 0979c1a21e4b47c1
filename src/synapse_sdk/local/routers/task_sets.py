"""Tasks in bulk: ``tasks/set_tags/`` and the slim listings ``sdk/tasks/data/`` (``{id, data}``) and
``sdk/tasks/files/`` (``{id, files}``: the data unit's files, with presigned links).

Both listings take the filters of ``sdk/tasks/``, ``tags`` included (:func:`.task_tags.tag_clauses`).
``set_tags`` is all or nothing: an unknown task or tag changes nothing and is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Select, delete, select

from synapse_sdk.local.filters import build_clauses, in_values, query_multi
from synapse_sdk.local.models import Task, TaskTag, TaskTagLink
from synapse_sdk.local.pagination import RESERVED_PARAMS, View, paginate
from synapse_sdk.local.responses import FastJSONResponse
from synapse_sdk.local.routers._common import file_links_async
from synapse_sdk.local.routers.assignments import SetTagsIn
from synapse_sdk.local.routers.task_tags import tag_clauses
from synapse_sdk.local.routers.tasks import TASK_FILTERS
from synapse_sdk.local.state import State, get_state
from synapse_sdk.local.units import expand_units

__all__ = ['router']

router = APIRouter()

_ORDERING = {'id': Task.id, 'created_at': Task.created_at, 'updated_at': Task.updated_at}
TASKS_DATA = View('tasks', ('id', 'data'), _ORDERING)
TASKS_FILES = View('tasks', ('id', 'files'), _ORDERING)


def _clauses(request: Request) -> list[Any]:
    query = query_multi(request.query_params)
    tags = tag_clauses(query)
    return [*tags, *build_clauses(query, TASK_FILTERS, RESERVED_PARAMS)]


@router.get('/sdk/tasks/data/')
async def list_tasks_data(request: Request) -> FastJSONResponse:
    """``{id, data}`` of each matching task."""
    state = get_state(request)
    clauses = _clauses(request)
    with state.db.connect() as conn:
        stmt: Select[Any] = select(Task.id, Task.data).where(*clauses)
        page = paginate(request, state, conn, stmt, lambda rows: [{'id': i, 'data': d} for i, d in rows], TASKS_DATA)
    return FastJSONResponse(page)


@router.get('/sdk/tasks/files/')
async def list_tasks_files(request: Request) -> FastJSONResponse:
    """``{id, files}`` of each matching task: its data unit's files in the dict form (``{}`` without a unit)."""
    state = get_state(request)
    clauses = _clauses(request)
    links = await file_links_async(request)
    with state.db.connect() as conn:

        def render(rows: Sequence[Any]) -> list[dict[str, Any]]:
            units = expand_units(conn, {unit for _, unit in rows if unit is not None}, links)
            return [{'id': task, 'files': (units.get(unit) or {}).get('files', {})} for task, unit in rows]

        columns: list[Any] = [Task.id, Task.data_unit_id]
        stmt: Select[Any] = select(*columns).where(*clauses)
        page = paginate(request, state, conn, stmt, render, TASKS_FILES)
    return FastJSONResponse(page)


@router.post('/tasks/set_tags/')
def set_tags(body: SetTagsIn, state: State) -> dict[str, Any]:
    """Add or remove ``tags`` on every task of ``ids`` (all or nothing: an unknown task or tag changes none)."""
    ids, tags = sorted(set(body.ids)), sorted(set(body.tags))
    with state.db.write() as session:
        missing = sorted(set(ids) - set(session.scalars(select(Task.id).where(in_values(Task.id, ids)))))
        if missing:
            raise HTTPException(404, f'ids: task {missing[0]} not found')
        unknown = sorted(set(tags) - set(session.scalars(select(TaskTag.id).where(in_values(TaskTag.id, tags)))))
        if unknown:
            raise HTTPException(404, f'tags: task tag {unknown[0]} not found (make one with POST task_tags/)')
        if tags:
            links = (TaskTagLink.task_id, TaskTagLink.tag_id)
            where = (in_values(TaskTagLink.task_id, ids), in_values(TaskTagLink.tag_id, tags))
            if body.action == 'add':
                have = {(task, tag) for task, tag in session.execute(select(*links).where(*where))}
                session.add_all(
                    TaskTagLink(task_id=task, tag_id=tag) for task in ids for tag in tags if (task, tag) not in have
                )
            else:
                session.execute(delete(TaskTagLink).where(*where))
    return {'updated': len(ids)}
