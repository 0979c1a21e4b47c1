"""The local backend's own agent API, under ``/agent/`` (authenticated by ``Authorization: <agent token>``).

Resources are this machine's (``os``, ``/proc``, cgroups, ``nvidia-smi``); a feasibility check answers from
the Ray cluster's own totals while the serve agent runs Ray. Jobs and serve applications are the ones
dispatched to this agent. Ray is never imported here, so it reports no Ray tasks, containers or builds
(``system/`` says whether Ray is initialised).
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from synapse_sdk.local import machine
from synapse_sdk.local.auth import AGENT_PREFIX
from synapse_sdk.local.filters import FilterField, build_clauses, parse_str, query_multi
from synapse_sdk.local.models import Agent, Job, ServeApplication, utcnow
from synapse_sdk.local.pagination import RESERVED_PARAMS, View, each, paginate, shape_one
from synapse_sdk.local.routers._common import StrictBody, get_or_404
from synapse_sdk.local.routers.plugins import RunIn, RunOptions, release_by_ident, start_run
from synapse_sdk.local.serializers import iso, job_out, serve_app_out
from synapse_sdk.local.state import AppState, State
from synapse_sdk.local.views import JOBS, SERVE_APPLICATIONS

router = APIRouter(prefix=AGENT_PREFIX.rstrip('/'))

#: ``resources/cluster/?use_cache=true`` reuses a snapshot younger than this (``nvidia-smi`` is slow).
SNAPSHOT_TTL_SECONDS = 10.0

_JOB_FILTERS = {'status': FilterField(Job.status, parse_str), 'action': FilterField(Job.action, parse_str)}
_APP_FILTERS = {
    'status': FilterField(ServeApplication.status, parse_str),
    'plugin_code': FilterField(ServeApplication.plugin_code, parse_str),
    'name': FilterField(ServeApplication.name, parse_str),
}
_NODES = View('nodes', ('id', 'hostname', 'address', 'alive', 'resources', 'gpus'))
_NOTHING = View('items', ())


class FeasibilityIn(StrictBody):
    kind: str = Field(default='serve', min_length=1, max_length=32)
    num_cpus: float = Field(default=0, ge=0)
    num_gpus: float = Field(default=0, ge=0)
    memory_bytes: int | None = Field(default=None, ge=0)
    replicas: int = Field(default=1, ge=1, le=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class AgentRunIn(RunOptions):
    """``plugin_releases/{id or code@version}/run/``: the release fixes plugin and version; the agent is this one."""


def local_agent_id(session: Session) -> int:
    found = session.scalar(select(Agent.id).where(Agent.url.is_(None)).order_by(Agent.id).limit(1))
    if found is None:
        raise HTTPException(404, 'This backend has no local agent; run `synapse local init`')
    return found


def _snapshot(state: AppState, use_cache: bool) -> dict[str, Any]:
    cached = state.extras.get('cluster_snapshot')
    if use_cache and cached is not None and time.monotonic() - cached[0] < SNAPSHOT_TTL_SECONDS:
        return {**cached[1], 'cached': True}
    gpus = machine.gpus()
    cap = machine.capacity(gpus)
    total = {'cpu': cap.cpu, 'gpu': cap.gpu, 'memory_bytes': cap.memory_bytes}
    host = socket.gethostname()
    node = {
        'id': host,
        'hostname': host,
        'address': '127.0.0.1',
        'alive': True,
        'resources': total,
        'gpus': [asdict(gpu) for gpu in gpus],
    }
    snapshot = {
        'source': 'local machine',
        'collected_at': iso(utcnow()),
        'total': total,
        'available': {**total, 'memory_bytes': cap.memory_available_bytes},
        'nodes': [node],
        'cached': False,
    }
    state.extras['cluster_snapshot'] = (time.monotonic(), snapshot)
    return snapshot


def _amount(value: float, unit: str) -> str:
    if unit == 'memory':
        return f'{value / 2**30:.1f} GiB of memory'
    shown = f'{value:g}'
    return f'{shown} {unit}' + ('' if value == 1 else 's')


def feasibility_reasons(body: FeasibilityIn, total: dict[str, Any]) -> list[str]:
    """Why the request cannot run here: all replicas must fit on this one machine at once."""
    reasons = []
    wanted = (('CPU', body.num_cpus, total['cpu']), ('GPU', body.num_gpus, total['gpu']))
    memory = ('memory', float(body.memory_bytes or 0), total['memory_bytes'])
    for unit, per_replica, have in (*wanted, memory):
        need = per_replica * body.replicas
        if need > have:
            per = _amount(per_replica, unit).removesuffix(' of memory')
            reasons.append(
                f'needs {_amount(need, unit)} ({per} per replica x {body.replicas} replicas); '
                f'this agent has {_amount(have, unit)}'
            )
    return reasons


@router.get('/health/')
def health() -> dict[str, str]:
    return {'status': 'ok'}


@router.get('/resources/cluster/')
def cluster(state: State, use_cache: bool = True) -> dict[str, Any]:
    """This machine as a one-node cluster: totals, available memory, GPUs."""
    return _snapshot(state, use_cache)


@router.post('/resources/feasibility/')
def feasibility(body: FeasibilityIn, state: State) -> dict[str, Any]:
    """From the Ray cluster's own totals while the agent's Ray runs (the largest node: a replica fits on one),
    else from this machine's."""
    total = _snapshot(state, True)['total']
    agent = state.extras.get('serve_agent')
    nodes = agent.node_totals() if agent is not None else None
    if nodes:
        total = {
            'cpu': max(n.get('CPU', 0.0) for n in nodes),
            'gpu': max(n.get('GPU', 0.0) for n in nodes),
            'memory_bytes': max(n.get('memory', 0.0) for n in nodes),
        }
    reasons = feasibility_reasons(body, total)
    return {'allowed': not reasons, 'reasons': reasons}


@router.get('/resources/policy/')
def policy(state: State) -> dict[str, Any]:
    """The admission rule :func:`feasibility` applies, with the capacity it compares against."""
    return {
        'overcommit': False,
        'placement': 'single node',
        'rule': 'a request is allowed when all its replicas fit on this machine at once (CPU, GPU and memory)',
        'capacity': _snapshot(state, True)['total'],
    }


@router.get('/gpu_status/')
def gpu_status(state: State) -> dict[str, Any]:
    gpus = _snapshot(state, False)['nodes'][0]['gpus']
    return {'count': len(gpus), 'gpus': gpus}


@router.get('/nodes/')
def nodes(request: Request, state: State) -> dict[str, Any]:
    node = _snapshot(state, True)['nodes'][0]
    return {'count': 1, 'next': None, 'previous': None, 'results': [shape_one(request, _NODES, node)]}


@router.get('/system/')
def system(state: State) -> dict[str, Any]:
    return machine.system_info(state.paths.root)


def _empty(request: Request) -> dict[str, Any]:
    _NOTHING.parse(request)
    return {'count': 0, 'next': None, 'previous': None, 'results': []}


@router.get('/tasks/')
def ray_tasks(request: Request) -> dict[str, Any]:
    """Ray tasks: none, as the local agent runs its jobs without Ray."""
    return _empty(request)


@router.get('/containers/')
def containers(request: Request) -> dict[str, Any]:
    """Containers: none, as the local agent runs plugins in local processes."""
    return _empty(request)


@router.get('/builds/')
def builds(request: Request) -> dict[str, Any]:
    """Environment builds: none, as the local agent uses the current Python environment."""
    return _empty(request)


@router.get('/jobs/')
def list_jobs(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _JOB_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        stmt = select(Job).where(Job.agent_id == local_agent_id(session), *clauses)
        return paginate(request, state, session, stmt, each(job_out), JOBS)


@router.get('/jobs/{job_id}/')
def get_job(job_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        job = get_or_404(session, Job, job_id, 'Job')
        if job.agent_id != local_agent_id(session):
            raise HTTPException(404, f'Job {job_id} not found on this agent')
        return shape_one(request, JOBS, job_out(job))


@router.get('/serve_applications/')
def list_serve_applications(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _APP_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        agent = local_agent_id(session)
        by_job = select(Job.id).where(Job.agent_id == agent)
        mine = or_(ServeApplication.agent_id == agent, ServeApplication.job_id.in_(by_job))
        stmt = select(ServeApplication).where(mine, *clauses)
        return paginate(request, state, session, stmt, each(serve_app_out), SERVE_APPLICATIONS)


@router.post('/plugin_releases/{ident}/run/')
def run_release(ident: str, body: AgentRunIn, state: State) -> dict[str, Any]:
    """Run an action of a release (by id or ``code@version``) on this agent: the platform's dispatch call."""
    with state.db.read() as session:
        plugin, release = release_by_ident(session, ident)
        run = RunIn(agent=local_agent_id(session), version=release.version, **body.model_dump(exclude_none=True))
    return start_run(state, plugin.code, run)
