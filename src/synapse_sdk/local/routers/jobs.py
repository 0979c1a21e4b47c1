"""``jobs/``: created by runs, patched by the running plugin (progress, metrics, result, logs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.enums import JobStatus
from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Agent, Job, PluginRelease, utcnow
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, get_or_404
from synapse_sdk.local.serializers import job_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import JOBS

router = APIRouter()

_JOB_FILTERS = {
    'id': FilterField(Job.id, parse_int),
    'status': FilterField(Job.status, parse_str),
    'agent': FilterField(Job.agent_id, parse_int, nullable=True),
    'plugin_release': FilterField(Job.plugin_release_id, parse_int, nullable=True),
    'action': FilterField(Job.action, parse_str),
}


class JobIn(StrictBody):
    action: str = ''
    params: dict[str, Any] = Field(default_factory=dict)
    plugin_release: DbInt | None = None
    agent: DbInt | None = None
    status: JobStatus = JobStatus.PENDING
    meta: dict[str, Any] = Field(default_factory=dict)


class JobPatch(StrictBody):
    status: JobStatus | None = None
    progress_record: dict[str, Any] | None = None
    metrics_record: dict[str, Any] | None = None
    result: Any = None
    console_logs: str | None = None
    meta: dict[str, Any] | None = None


@router.get('/jobs/')
def list_jobs(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _JOB_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(Job).where(*clauses), each(job_out), JOBS)


@router.post('/jobs/', status_code=201)
def create_job(body: JobIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.plugin_release is not None:
            get_or_404(session, PluginRelease, body.plugin_release, 'Plugin release')
        if body.agent is not None:
            get_or_404(session, Agent, body.agent, 'Agent')
        job = Job(
            action=body.action,
            params=body.params,
            plugin_release_id=body.plugin_release,
            agent_id=body.agent,
            status=body.status.value,
            meta=body.meta,
        )
        session.add(job)
        session.flush()
        return job_out(job)


@router.get('/jobs/{job_id}/')
def get_job(job_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, JOBS, job_out(get_or_404(session, Job, job_id, 'Job')))


@router.patch('/jobs/{job_id}/')
def update_job(job_id: int, body: JobPatch, state: State) -> dict[str, Any]:
    """Replace the given keys (only those present in the body)."""
    changes = body.model_dump(exclude_unset=True)
    with state.db.write() as session:
        job = get_or_404(session, Job, job_id, 'Job')
        for key, value in changes.items():
            setattr(job, key, value.value if isinstance(value, JobStatus) else value)
        job.updated_at = utcnow()
        session.flush()
        return job_out(job)


@router.get('/jobs/{job_id}/console_logs/')
def get_console_logs(job_id: int, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        job = get_or_404(session, Job, job_id, 'Job')
        return {'id': job.id, 'console_logs': job.console_logs}
