"""``data_units/``, ``data_files/`` uploads and ``files/{id}/`` downloads."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import DataCollection, DataFile, DataUnit
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate
from synapse_sdk.local.routers._common import StrictBody, base_url, get_or_404
from synapse_sdk.local.serializers import data_file_out, data_unit_out
from synapse_sdk.local.state import Authenticated, State
from synapse_sdk.local.storage import store_file

router = APIRouter(dependencies=[Authenticated])

_UNIT_FILTERS = {
    'id': FilterField(DataUnit.id, parse_int),
    'data_collection': FilterField(DataUnit.data_collection_id, parse_int),
    'key': FilterField(DataUnit.key, parse_str, nullable=True),
}


class UnitFileIn(StrictBody):
    file: int = Field(description='id of an uploaded data file')
    is_primary: bool = False


class DataUnitIn(StrictBody):
    data_collection: int
    key: str | None = None
    files: dict[str, UnitFileIn] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)


def load_files(session: Session, units: Iterable[DataUnit]) -> dict[int, DataFile]:
    ids = {entry['file'] for unit in units for entry in unit.files.values()}
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(DataFile).where(DataFile.id.in_(ids)))}


def units_out(session: Session, units: list[DataUnit], url: str) -> dict[int, dict[str, Any]]:
    files = load_files(session, units)
    return {unit.id: data_unit_out(unit, files, url) for unit in units}


def validate_unit_files(session: Session, collection: DataCollection, files: dict[str, UnitFileIn]) -> None:
    specs = {spec['name'] for spec in collection.file_specifications}
    for name, entry in files.items():
        if specs and name not in specs:
            raise HTTPException(400, f'files.{name}: not a file specification of data collection {collection.id}')
        get_or_404(session, DataFile, entry.file, f'files.{name}: data file')


@router.get('/data_units/')
def list_data_units(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _UNIT_FILTERS, RESERVED_PARAMS)
    url = base_url(request)
    with state.db.read() as session:

        def one(unit: DataUnit) -> dict[str, Any]:
            return data_unit_out(unit, load_files(session, [unit]), url)

        return paginate(request, state, session, select(DataUnit).where(*clauses).order_by(DataUnit.id), one)


@router.post('/data_units/', status_code=201)
def create_data_unit(body: DataUnitIn, request: Request, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        collection = get_or_404(session, DataCollection, body.data_collection, 'Data collection')
        validate_unit_files(session, collection, body.files)
        if body.key is not None:
            taken = select(DataUnit.id).where(DataUnit.data_collection_id == collection.id, DataUnit.key == body.key)
            if session.scalar(taken) is not None:
                raise HTTPException(400, f"key: a data unit with key '{body.key}' already exists in this collection")
        unit = DataUnit(
            data_collection_id=collection.id,
            key=body.key,
            files={name: entry.model_dump() for name, entry in body.files.items()},
            meta=body.meta,
        )
        session.add(unit)
        session.flush()
        return units_out(session, [unit], base_url(request))[unit.id]


@router.get('/data_units/{unit_id}/')
def get_data_unit(unit_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        unit = get_or_404(session, DataUnit, unit_id, 'Data unit')
        return units_out(session, [unit], base_url(request))[unit.id]


@router.post('/data_files/', status_code=201)
def upload_data_file(file: Annotated[UploadFile, File()], request: Request, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        row = store_file(session, state.paths, file.file, file.filename or 'upload.bin')
        return data_file_out(row, base_url(request))


class ExternalFileIn(StrictBody):
    url: HttpUrl = Field(description='where the file is kept (http or https)')
    file_name_original: str = Field(min_length=1, max_length=500)
    size: int = Field(default=0, ge=0)
    checksum: str = Field(default='', max_length=64)


@router.post('/data_files/external/', status_code=201)
def register_external_file(body: ExternalFileIn, request: Request, state: State) -> dict[str, Any]:
    """Local extension: reference a file kept in external storage (like the platform's storage providers)."""
    name = body.file_name_original
    with state.db.write() as session:
        row = DataFile(
            path='',
            file_name_original=name,
            size=body.size,
            checksum=body.checksum,
            content_type=mimetypes.guess_type(name)[0] or 'application/octet-stream',
            external_url=str(body.url),
        )
        session.add(row)
        session.flush()
        return data_file_out(row, base_url(request))


@router.get('/data_files/{file_id}/')
def get_data_file(file_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return data_file_out(get_or_404(session, DataFile, file_id, 'Data file'), base_url(request))


@router.get('/files/{file_id}/', response_model=None)
def download_file(file_id: int, state: State) -> FileResponse | RedirectResponse:
    with state.db.read() as session:
        row = get_or_404(session, DataFile, file_id, 'File')
    if row.external_url:
        return RedirectResponse(row.external_url, status_code=307)
    path = state.paths.storage / row.path
    if not path.is_file():
        raise HTTPException(404, f'File {file_id} is missing from storage')
    return FileResponse(path, media_type=row.content_type, filename=row.file_name_original)
