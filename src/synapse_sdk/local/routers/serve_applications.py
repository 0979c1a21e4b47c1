"""``serve_applications/``: registered by deployments, polled by ToTask."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.enums import ServeAppStatus
from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Agent, Job, ServeApplication
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, get_or_404
from synapse_sdk.local.serializers import serve_app_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import SERVE_APPLICATIONS

router = APIRouter()

_job_agent = select(Job.agent_id).where(Job.id == ServeApplication.job_id).scalar_subquery()

_FILTERS = {
    'id': FilterField(ServeApplication.id, parse_int),
    'name': FilterField(ServeApplication.name, parse_str),
    'status': FilterField(ServeApplication.status, parse_str),
    'plugin_code': FilterField(ServeApplication.plugin_code, parse_str),
    'version': FilterField(ServeApplication.version, parse_str, nullable=True),
    'job': FilterField(ServeApplication.job_id, parse_int, nullable=True),
    'agent': FilterField(ServeApplication.agent_id, parse_int, nullable=True),
}
# ``job__agent`` is the platform's spelling: the agent of the job that deployed the app.
_JOB_AGENT = FilterField(_job_agent, parse_int, nullable=True)


class ServeAppIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    plugin_code: str = Field(min_length=1)
    version: str | None = None
    status: ServeAppStatus = ServeAppStatus.NOT_STARTED
    job: DbInt | None = None
    agent: DbInt | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class ServeAppPatch(StrictBody):
    status: ServeAppStatus | None = None
    meta: dict[str, Any] | None = None


@router.get('/serve_applications/')
def list_serve_applications(request: Request, state: State) -> dict[str, Any]:
    params = query_multi(request.query_params)
    job_agent = params.pop('job__agent', None)
    clauses = build_clauses(params, _FILTERS, RESERVED_PARAMS)
    if job_agent is not None:
        clauses += build_clauses({'agent': job_agent}, {'agent': _JOB_AGENT}, frozenset())
    stmt = select(ServeApplication).where(*clauses)
    with state.db.read() as session:
        return paginate(request, state, session, stmt, each(serve_app_out), SERVE_APPLICATIONS)


@router.post('/serve_applications/', status_code=201)
def create_serve_application(body: ServeAppIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.job is not None:
            get_or_404(session, Job, body.job, 'Job')
        if body.agent is not None:
            get_or_404(session, Agent, body.agent, 'Agent')
        row = ServeApplication(
            name=body.name,
            plugin_code=body.plugin_code,
            version=body.version,
            status=body.status.value,
            job_id=body.job,
            agent_id=body.agent,
            meta=body.meta,
        )
        session.add(row)
        session.flush()
        return serve_app_out(row)


@router.get('/serve_applications/{app_id}/')
def get_serve_application(app_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        row = get_or_404(session, ServeApplication, app_id, 'Serve application')
        return shape_one(request, SERVE_APPLICATIONS, serve_app_out(row))


@router.patch('/serve_applications/{app_id}/')
def update_serve_application(app_id: int, body: ServeAppPatch, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        row = get_or_404(session, ServeApplication, app_id, 'Serve application')
        if body.status is not None:
            row.status = body.status.value
        if body.meta is not None:
            row.meta = body.meta
        session.flush()
        return serve_app_out(row)
