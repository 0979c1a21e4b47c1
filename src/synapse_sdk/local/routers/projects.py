"""``projects/`` and ``data_collections/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from sqlalchemy import select

from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, query_multi
from synapse_sdk.local.models import DataCollection, Project
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, get_or_404
from synapse_sdk.local.serializers import data_collection_out, project_out
from synapse_sdk.local.state import State
from synapse_sdk.local.views import DATA_COLLECTIONS, PROJECTS

router = APIRouter()

_PROJECT_FILTERS = {
    'id': FilterField(Project.id, parse_int),
    'name': FilterField(Project.name),
    'data_collection': FilterField(Project.data_collection_id, parse_int, nullable=True),
}
_COLLECTION_FILTERS = {'id': FilterField(DataCollection.id, parse_int), 'name': FilterField(DataCollection.name)}


class FileSpecification(StrictBody):
    name: str = Field(min_length=1)
    is_primary: bool = False
    is_required: bool = False
    file_type: str | None = None
    extensions: list[str] = Field(default_factory=list)


class DataCollectionIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    file_specifications: list[FileSpecification] = Field(default_factory=list)


class ProjectIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    description: str = ''
    data_collection: DbInt | None = None


@router.get('/projects/')
def list_projects(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _PROJECT_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(Project).where(*clauses), each(project_out), PROJECTS)


@router.post('/projects/', status_code=201)
def create_project(body: ProjectIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.data_collection is not None:
            get_or_404(session, DataCollection, body.data_collection, 'Data collection')
        if session.scalar(select(Project.id).where(Project.name == body.name)) is not None:
            raise HTTPException(400, {'detail': f"name: a project named '{body.name}' already exists"})
        row = Project(name=body.name, description=body.description, data_collection_id=body.data_collection)
        session.add(row)
        session.flush()
        return project_out(row)


@router.get('/projects/{project_id}/')
def get_project(project_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, PROJECTS, project_out(get_or_404(session, Project, project_id, 'Project')))


@router.get('/data_collections/')
def list_data_collections(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _COLLECTION_FILTERS, RESERVED_PARAMS)
    stmt = select(DataCollection).where(*clauses)
    with state.db.read() as session:
        return paginate(request, state, session, stmt, each(data_collection_out), DATA_COLLECTIONS)


@router.post('/data_collections/', status_code=201)
def create_data_collection(body: DataCollectionIn, state: State) -> dict[str, Any]:
    names = [spec.name for spec in body.file_specifications]
    if len(set(names)) != len(names):
        raise HTTPException(400, {'detail': 'file_specifications: names must be unique'})
    with state.db.write() as session:
        row = DataCollection(name=body.name, file_specifications=[s.model_dump() for s in body.file_specifications])
        session.add(row)
        session.flush()
        return data_collection_out(row)


@router.get('/data_collections/{collection_id}/')
def get_data_collection(collection_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        row = get_or_404(session, DataCollection, collection_id, 'Data collection')
        return shape_one(request, DATA_COLLECTIONS, data_collection_out(row))
