"""``agents/`` (the local backend is its own agent) and ``agents/{token}/connect/``.

Agent tokens are kept as digests only: ``POST agents/`` answers the new agent's ``token`` once (to the
authenticated caller that created it); listings never carry one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local._agent_token import new_agent_token
from synapse_sdk.local.auth import hash_token
from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Agent
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate, shape_one
from synapse_sdk.local.routers._common import StrictBody, base_url, get_or_404
from synapse_sdk.local.serializers import agent_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import AGENTS

router = APIRouter()

_AGENT_FILTERS = {
    'id': FilterField(Agent.id, parse_int),
    'name': FilterField(Agent.name, parse_str),
    'status': FilterField(Agent.status, parse_str),
}


class AgentIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, pattern=r'^https?://')


class ConnectIn(StrictBody):
    url: str | None = Field(default=None, pattern=r'^https?://')
    name: str | None = None


@router.get('/agents/')
def list_agents(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _AGENT_FILTERS, RESERVED_PARAMS)
    url = base_url(request)
    with state.db.read() as session:
        stmt = select(Agent).where(*clauses)
        return paginate(request, state, session, stmt, lambda rows: [agent_out(a, url) for a in rows], AGENTS)


@router.post('/agents/', status_code=201)
def create_agent(body: AgentIn, request: Request, state: State) -> dict[str, Any]:
    token, digest = new_agent_token()
    with state.db.write() as session:
        row = Agent(name=body.name, url=body.url, token_digest=digest)
        session.add(row)
        session.flush()
        return {**agent_out(row, base_url(request)), 'token': token}  # shown once: only its digest is kept


@router.get('/agents/{agent_id}/')
def get_agent(agent_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, AGENTS, agent_out(get_or_404(session, Agent, agent_id, 'Agent'), base_url(request)))


@router.post('/agents/{token}/connect/')
def connect_agent(token: str, body: ConnectIn, request: Request, state: State) -> dict[str, Any]:
    """An agent announces itself (and its URL) with its token."""
    with state.db.write() as session:
        row = session.scalar(select(Agent).where(Agent.token_digest == hash_token(token)))
        if row is None:
            raise HTTPException(404, 'No agent has this token')
        if body.url is not None:
            row.url = body.url
        if body.name:
            row.name = body.name
        row.status = 'connected'
        session.flush()
        return agent_out(row, base_url(request))
