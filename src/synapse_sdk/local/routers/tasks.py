"""``sdk/tasks/`` (filtered listing), ``tasks/{id}/`` and ``annotate_task_data``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import FilterField, build_clauses, parse_datetime, parse_int, parse_str, query_multi
from synapse_sdk.local.models import DataUnit, Project, Task, utcnow
from synapse_sdk.local.pagination import RESERVED_PARAMS, check_fields, paginate, parse_csv, select_fields
from synapse_sdk.local.routers._common import StrictBody, base_url, get_or_404
from synapse_sdk.local.routers.data_units import units_out
from synapse_sdk.local.serializers import TASK_FIELDS, task_out
from synapse_sdk.local.state import Authenticated, State

router = APIRouter(dependencies=[Authenticated])

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
_EXPANDABLE = ('data_unit',)


class TaskIn(StrictBody):
    project: int
    data_unit: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    status: str = Field(default='pending', min_length=1, max_length=32)
    assignee: int | None = None


class AnnotateIn(StrictBody):
    action: Literal['submit']
    data: dict[str, Any]


def _expand(request: Request) -> bool:
    expand = parse_csv(request, 'expand')
    unknown = [name for name in expand if name not in _EXPANDABLE]
    if unknown:
        raise HTTPException(400, f"Cannot expand '{unknown[0]}'; expandable: {', '.join(_EXPANDABLE)}")
    return 'data_unit' in expand


def render_tasks(session: Session, tasks: list[Task], request: Request, fields: list[str]) -> list[dict[str, Any]]:
    """Serialize tasks, inlining their data units when ``expand=data_unit``."""
    units: dict[int, dict[str, Any]] = {}
    if _expand(request) and (not fields or 'data_unit' in fields):
        ids = {t.data_unit_id for t in tasks if t.data_unit_id is not None}
        rows = list(session.scalars(select(DataUnit).where(DataUnit.id.in_(ids)))) if ids else []
        units = units_out(session, rows, base_url(request))
    return [select_fields(task_out(t, units.get(t.data_unit_id or 0)), fields) for t in tasks]


@router.get('/sdk/tasks/')
@router.get('/tasks/')
def list_tasks(request: Request, state: State) -> dict[str, Any]:
    fields = parse_csv(request, 'fields')
    check_fields(fields, TASK_FIELDS)
    clauses = build_clauses(query_multi(request.query_params), TASK_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        if fields == ['id']:  # the ToTask id scan: no JSON columns loaded
            stmt = select(Task.id).where(*clauses).order_by(Task.id)
            return paginate(request, state, session, stmt, lambda task_id: {'id': task_id})
        page = paginate(request, state, session, select(Task).where(*clauses).order_by(Task.id), lambda t: t)
        page['results'] = render_tasks(session, page['results'], request, fields)
        return page


@router.post('/tasks/', status_code=201)
def create_task(body: TaskIn, request: Request, state: State) -> dict[str, Any]:
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
def get_task(task_id: int, request: Request, state: State) -> dict[str, Any]:
    fields = parse_csv(request, 'fields')
    check_fields(fields, TASK_FIELDS)
    with state.db.read() as session:
        task = get_or_404(session, Task, task_id, 'Task')
        return render_tasks(session, [task], request, fields)[0]


@router.put('/tasks/{task_id}/annotate_task_data/')
def annotate_task_data(task_id: int, body: AnnotateIn, state: State) -> dict[str, Any]:
    """Replace the task's data (``schema=any`` accepted; only the object shape is checked here)."""
    with state.db.write() as session:
        task = get_or_404(session, Task, task_id, 'Task')
        if task.data != body.data:
            task.data = body.data
            task.updated_at = utcnow()
        session.flush()
        return task_out(task)
