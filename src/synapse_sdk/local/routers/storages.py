"""``storages/``: storage provider configurations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Storage
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, shape_one
from synapse_sdk.local.routers._common import StrictBody, get_or_404
from synapse_sdk.local.serializers import storage_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import STORAGES

router = APIRouter()

_FILTERS = {
    'id': FilterField(Storage.id, parse_int),
    'name': FilterField(Storage.name, parse_str),
    'provider': FilterField(Storage.provider, parse_str),
}


class StorageIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=64)
    configuration: dict[str, Any] = Field(default_factory=dict)


@router.get('/storages/')
def list_storages(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(Storage).where(*clauses), each(storage_out), STORAGES)


@router.post('/storages/', status_code=201)
def create_storage(body: StorageIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        row = Storage(name=body.name, provider=body.provider, configuration=body.configuration)
        session.add(row)
        session.flush()
        return storage_out(row)


@router.get('/storages/{storage_id}/')
def get_storage(storage_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, STORAGES, storage_out(get_or_404(session, Storage, storage_id, 'Storage')))
