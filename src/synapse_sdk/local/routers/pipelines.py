"""``pipeline_runs/``: runs of action pipelines and their checkpoints (one per finished action)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import PipelineCheckpoint, PipelineRun, utcnow
from synapse_sdk.local.pagination import RESERVED_PARAMS, View, each, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, get_or_404
from synapse_sdk.local.serializers import iso
from synapse_sdk.local.state import State

router = APIRouter()

Status = Literal['pending', 'running', 'completed', 'failed', 'cancelled']

RUNS = View(
    'pipeline runs',
    (
        'id',
        'name',
        'status',
        'actions',
        'params',
        'progress',
        'result',
        'error',
        'resumed_from',
        'created_at',
        'updated_at',
    ),
    {'id': PipelineRun.id, 'name': PipelineRun.name, 'created_at': PipelineRun.created_at},
)
CHECKPOINTS = View(
    'pipeline checkpoints',
    ('id', 'run', 'action_index', 'action_name', 'params', 'result', 'created_at'),
    {'id': PipelineCheckpoint.id, 'action_index': PipelineCheckpoint.action_index},
)
_FILTERS = {
    'id': FilterField(PipelineRun.id, parse_int),
    'name': FilterField(PipelineRun.name, parse_str),
    'status': FilterField(PipelineRun.status, parse_str),
    'resumed_from': FilterField(PipelineRun.resumed_from, parse_int),
}


def run_out(row: PipelineRun) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'status': row.status,
        'actions': row.actions,
        'params': row.params,
        'progress': row.progress,
        'result': row.result,
        'error': row.error,
        'resumed_from': row.resumed_from,
        'created_at': iso(row.created_at),
        'updated_at': iso(row.updated_at),
    }


def checkpoint_out(row: PipelineCheckpoint) -> dict[str, Any]:
    return {
        'id': row.id,
        'run': row.run_id,
        'action_index': row.action_index,
        'action_name': row.action_name,
        'params': row.params,
        'result': row.result,
        'created_at': iso(row.created_at),
    }


class RunIn(StrictBody):
    name: str = Field(default='', max_length=200)
    status: Status = 'pending'
    actions: list[str] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    resumed_from: DbInt | None = None


class RunPatch(StrictBody):
    status: Status | None = None
    progress: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None


class CheckpointIn(StrictBody):
    action_index: DbInt = Field(ge=0)
    action_name: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    result: Any = None


@router.get('/pipeline_runs/')
def list_runs(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(PipelineRun).where(*clauses), each(run_out), RUNS)


@router.post('/pipeline_runs/', status_code=201)
def create_run(body: RunIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.resumed_from is not None and session.get(PipelineRun, body.resumed_from) is None:
            raise HTTPException(400, f'resumed_from: pipeline run {body.resumed_from} not found')
        row = PipelineRun(**body.model_dump())
        session.add(row)
        session.flush()
        return run_out(row)


@router.get('/pipeline_runs/{run_id}/')
def get_run(run_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, RUNS, run_out(get_or_404(session, PipelineRun, run_id, 'Pipeline run')))


@router.patch('/pipeline_runs/{run_id}/')
def update_run(run_id: int, body: RunPatch, state: State) -> dict[str, Any]:
    """Replace the given keys (only those present in the body)."""
    changes = body.model_dump(exclude_unset=True)
    with state.db.write() as session:
        row = get_or_404(session, PipelineRun, run_id, 'Pipeline run')
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        session.flush()
        return run_out(row)


@router.get('/pipeline_runs/{run_id}/checkpoints/')
def list_checkpoints(run_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        get_or_404(session, PipelineRun, run_id, 'Pipeline run')
        stmt = select(PipelineCheckpoint).where(PipelineCheckpoint.run_id == run_id)
        return paginate(request, state, session, stmt, each(checkpoint_out), CHECKPOINTS)


@router.post('/pipeline_runs/{run_id}/checkpoints/', status_code=201)
def create_checkpoint(run_id: int, body: CheckpointIn, state: State) -> dict[str, Any]:
    """Record the checkpoint of one action (a second one for the same action replaces it)."""
    with state.db.write() as session:
        run = get_or_404(session, PipelineRun, run_id, 'Pipeline run')
        if body.action_index >= len(run.actions):
            raise HTTPException(400, f"action_index: {body.action_index} is past the run's {len(run.actions)} actions")
        expected = run.actions[body.action_index]
        if body.action_name != expected:
            raise HTTPException(
                400,
                f"action_name: action {body.action_index} of run {run_id} is '{expected}', not '{body.action_name}'",
            )
        row = session.scalar(
            select(PipelineCheckpoint).where(
                PipelineCheckpoint.run_id == run_id, PipelineCheckpoint.action_index == body.action_index
            )
        )
        if row is None:
            row = PipelineCheckpoint(run_id=run_id, **body.model_dump())
            session.add(row)
        else:
            row.params, row.result, row.created_at = body.params, body.result, utcnow()
        session.flush()
        return checkpoint_out(row)
