"""``models/``: trained model records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import DataFile, Model, PluginRelease
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links, get_or_404
from synapse_sdk.local.serializers import model_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import MODELS

router = APIRouter()

_FILTERS = {
    'id': FilterField(Model.id, parse_int),
    'name': FilterField(Model.name, parse_str),
    'plugin_release': FilterField(Model.plugin_release_id, parse_int, nullable=True),
}


class ModelIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    plugin_release: DbInt | None = None
    file: DbInt | None = Field(default=None, description='id of an uploaded data file')
    metadata: dict[str, Any] = Field(default_factory=dict)


@router.get('/models/')
def list_models(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _FILTERS, RESERVED_PARAMS)
    links = file_links(request)
    with state.db.read() as session:
        stmt = select(Model).where(*clauses)
        return paginate(request, state, session, stmt, lambda rows: [model_out(row, links) for row in rows], MODELS)


@router.post('/models/', status_code=201)
def create_model(body: ModelIn, request: Request, state: State) -> dict[str, Any]:
    links = file_links(request)  # before the write transaction: making the signing key writes too
    with state.db.write() as session:
        if body.plugin_release is not None:
            get_or_404(session, PluginRelease, body.plugin_release, 'Plugin release')
        if body.file is not None:
            get_or_404(session, DataFile, body.file, 'Data file')
        row = Model(name=body.name, plugin_release_id=body.plugin_release, file_id=body.file, metadata_=body.metadata)
        session.add(row)
        session.flush()
        return model_out(row, links)


@router.get('/models/{model_id}/')
def get_model(model_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, MODELS, model_out(get_or_404(session, Model, model_id, 'Model'), file_links(request)))
