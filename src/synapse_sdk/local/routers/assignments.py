"""``assignments/`` and ``sdk/assignments/`` (+ ``data/``, ``files/``): people's work on tasks, an export source.

An assignment belongs to a task (and so to its project and data unit). It answers the platform's v1
shape: ``{id, project, task, user, data, file, status_label, status_review, is_confirmed, tags,
created}`` where ``file`` is the task's data unit files in the dict form (presigned links), so an
exporter downloads the media without a token. ``sdk/assignments/data/`` answers ``{id, data}`` and
``sdk/assignments/files/`` ``{id, file}``. The platform makes assignments as people take tasks; here
``POST assignments/`` makes one (for tests and local projects).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local.filters import (
    FilterField,
    build_clauses,
    in_values,
    parse_datetime,
    parse_int,
    parse_str,
    query_multi,
)
from synapse_sdk.local.models import Assignment, Task
from synapse_sdk.local.pagination import RESERVED_PARAMS, View, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links, get_or_404, path_id
from synapse_sdk.local.serializers import iso
from synapse_sdk.local.state import State
from synapse_sdk.local.storage import FileLinks
from synapse_sdk.local.units import expand_units

__all__ = ['ASSIGNMENTS', 'router']

router = APIRouter()

LABELS = Literal['stand_by', 'in_progress', 'completed', 'skipped']
REVIEWS = Literal['stand_by', 'in_progress', 'rejected', 'completed', 'skipped']

ASSIGNMENTS = View(
    'assignments',
    (
        'id',
        'project',
        'task',
        'user',
        'data',
        'file',
        'status_label',
        'status_review',
        'is_confirmed',
        'tags',
        'created',
    ),
    {'id': Assignment.id, 'task': Assignment.task_id, 'created': Assignment.created_at},
    expandable=('file',),  # always inlined; accepted because clients ask for it
)


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ('true', '1'):
        return True
    if value in ('false', '0'):
        return False
    raise ValueError(f"expected true or false, got '{raw}'")


_FILTERS = {
    'id': FilterField(Assignment.id, parse_int, ranges=True),  # ``id__lt``: the exporters' resume cursor
    'project': FilterField(Assignment.project_id, parse_int),
    'task': FilterField(Assignment.task_id, parse_int),
    'user': FilterField(Assignment.user, parse_int, nullable=True),
    'status_label': FilterField(Assignment.status_label, parse_str),
    'status_review': FilterField(Assignment.status_review, parse_str),
    'is_confirmed': FilterField(Assignment.is_confirmed, _parse_bool),
    'created': FilterField(Assignment.created_at, parse_datetime, ranges=True),
}


class AssignmentIn(StrictBody):
    task: DbInt
    user: DbInt | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    status_label: LABELS = 'stand_by'
    status_review: REVIEWS = 'stand_by'
    is_confirmed: bool = False


class SetTagsIn(StrictBody):
    ids: list[DbInt] = Field(min_length=1, max_length=10_000)
    tags: list[DbInt] = Field(max_length=1_000)
    action: Literal['add', 'remove'] = 'add'


def _filters(request: Request) -> dict[str, list[str]]:
    """The query's filters; the platform's ``tasks=1,2`` (a list of task ids) is ``task__in``."""
    query = query_multi(request.query_params)
    if 'tasks' in query:
        query.setdefault('task__in', []).extend(query.pop('tasks'))
    return query


def _out(row: Assignment, files: dict[str, Any]) -> dict[str, Any]:
    return {
        'id': row.id,
        'project': row.project_id,
        'task': row.task_id,
        'user': row.user,
        'data': row.data,
        'file': files,
        'status_label': row.status_label,
        'status_review': row.status_review,
        'is_confirmed': row.is_confirmed,
        'tags': list(row.tags or []),
        'created': iso(row.created_at),
    }


def _render(session: Any, rows: Sequence[Assignment], links: FileLinks) -> list[dict[str, Any]]:
    task_ids = sorted({row.task_id for row in rows})
    units_of: dict[int, int | None] = {}
    if task_ids:
        stmt = select(Task.id, Task.data_unit_id).where(in_values(Task.id, task_ids))
        units_of = {task: unit for task, unit in session.execute(stmt).all()}
    units = expand_units(session, {unit for unit in units_of.values() if unit is not None}, links)
    out = []
    for row in rows:
        unit = units.get(units_of.get(row.task_id) or -1)
        out.append(_out(row, unit['files'] if unit else {}))
    return out


def _listing(request: Request, state: Any, keep: tuple[str, ...] | None = None) -> dict[str, Any]:
    clauses = build_clauses(_filters(request), _FILTERS, RESERVED_PARAMS)
    links = file_links(request)
    with state.db.read() as session:
        render = lambda rows: _render(session, list(rows), links)  # noqa: E731
        page = paginate(request, state, session, select(Assignment).where(*clauses), render, ASSIGNMENTS)
    if keep is not None:
        page['results'] = [{key: item[key] for key in keep if key in item} for item in page['results']]
    return page


@router.get('/sdk/assignments/')
@router.get('/assignments/')
def list_assignments(request: Request, state: State) -> dict[str, Any]:
    return _listing(request, state)


@router.get('/sdk/assignments/data/')
def list_assignments_data(request: Request, state: State) -> dict[str, Any]:
    return _listing(request, state, ('id', 'data'))


@router.get('/sdk/assignments/files/')
def list_assignments_files(request: Request, state: State) -> dict[str, Any]:
    return _listing(request, state, ('id', 'file'))


@router.post('/assignments/', status_code=201)
def create_assignment(body: AssignmentIn, request: Request, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        task = get_or_404(session, Task, body.task, 'Task')
        row = Assignment(
            project_id=task.project_id,
            task_id=task.id,
            user=body.user,
            data=body.data,
            status_label=body.status_label,
            status_review=body.status_review,
            is_confirmed=body.is_confirmed,
            tags=[],
        )
        session.add(row)
        session.flush()
        return _render(session, [row], file_links(request))[0]


@router.post('/assignments/set_tags/')
def set_tags(body: SetTagsIn, state: State) -> dict[str, Any]:
    """Add or remove ``tags`` on every assignment of ``ids`` (all or nothing: an unknown id changes none)."""
    with state.db.write() as session:
        rows = session.scalars(select(Assignment).where(in_values(Assignment.id, sorted(set(body.ids))))).all()
        missing = sorted(set(body.ids) - {row.id for row in rows})
        if missing:
            raise HTTPException(404, f'ids: assignment {missing[0]} not found')
        for row in rows:
            current = [int(tag) for tag in row.tags or []]
            if body.action == 'add':
                row.tags = current + [tag for tag in dict.fromkeys(body.tags) if tag not in current]
            else:
                row.tags = [tag for tag in current if tag not in body.tags]
        return {'updated': len(rows)}


@router.get('/assignments/{assignment_id}/')
def get_assignment(assignment_id: str, request: Request, state: State) -> dict[str, Any]:
    ident = path_id(assignment_id, 'Assignment')
    with state.db.read() as session:
        row = get_or_404(session, Assignment, ident, 'Assignment')
        return shape_one(request, ASSIGNMENTS, _render(session, [row], file_links(request))[0])
