"""``task_tags/``: the tags a project's tasks can carry (listed and read by the platform's client).

Also :func:`tag_clauses`, the ``tags`` filter of the task listings (which tags a task carries is set with
``tasks/set_tags/``, :mod:`.task_sets`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import ColumnElement, select

from synapse_sdk.local.filters import FilterField, build_clauses, in_values, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Project, Task, TaskTag, TaskTagLink
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, get_or_404, path_id
from synapse_sdk.local.serializers import task_tag_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import TASK_TAGS

router = APIRouter()

_FILTERS = {
    'id': FilterField(TaskTag.id, parse_int),
    'project': FilterField(TaskTag.project_id, parse_int, nullable=True),
    'name': FilterField(TaskTag.name, parse_str),
    'category': FilterField(TaskTag.category, parse_str),
}


def tag_clauses(query: dict[str, list[str]]) -> list[ColumnElement[bool]]:
    """Pop the ``tags`` filters from ``query``: ``tags=5`` a task carrying tag 5 (repeated: every one given),
    ``tags__in=5,6`` one of them at least."""
    clauses: list[ColumnElement[bool]] = []
    for value in query.pop('tags', []):
        clauses.append(Task.id.in_(select(TaskTagLink.task_id).where(TaskTagLink.tag_id == _tag_id(value))))
    for value in query.pop('tags__in', []):
        ids = [_tag_id(part) for part in value.split(',') if part.strip()]
        clauses.append(Task.id.in_(select(TaskTagLink.task_id).where(in_values(TaskTagLink.tag_id, ids))))
    return clauses


def _tag_id(raw: str) -> int:
    try:
        return parse_int(raw)
    except (ValueError, OverflowError):
        raise HTTPException(400, f"Invalid value '{raw}' for filter 'tags': expected a task tag id") from None


class TaskTagIn(StrictBody):
    project: DbInt | None = None
    name: str = Field(min_length=1, max_length=100)
    #: the platform's two kinds: tags set by people on a project's tasks, and tags set by exports
    category: Literal['project', 'export'] = 'project'
    description: str = Field(default='', max_length=10_000)
    meta: dict[str, Any] = Field(default_factory=dict)


@router.get('/task_tags/')
def list_task_tags(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(TaskTag).where(*clauses), each(task_tag_out), TASK_TAGS)


@router.post('/task_tags/', status_code=201)
def create_task_tag(body: TaskTagIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.project is not None:
            get_or_404(session, Project, body.project, 'Project')
        same = select(TaskTag.id).where(TaskTag.name == body.name)
        same = same.where(
            TaskTag.project_id == body.project if body.project is not None else TaskTag.project_id.is_(None)
        )
        if session.scalar(same) is not None:
            where = f'project {body.project}' if body.project is not None else 'no project'
            raise HTTPException(400, f"name: a task tag named '{body.name}' already exists for {where}")
        row = TaskTag(
            project_id=body.project,
            name=body.name,
            category=body.category,
            description=body.description,
            meta=body.meta,
        )
        session.add(row)
        session.flush()
        return task_tag_out(row)


@router.get('/task_tags/{tag_id}/')
def get_task_tag(tag_id: str, request: Request, state: State) -> dict[str, Any]:
    ident = path_id(tag_id, 'Task tag')
    with state.db.read() as session:
        return shape_one(request, TASK_TAGS, task_tag_out(get_or_404(session, TaskTag, ident, 'Task tag')))
