"""``data_units/``, ``data_files/`` uploads and ``files/{id}/`` downloads (presigned or with a token header)."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import Field, HttpUrl
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import INT64_MAX, FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import DataCollection, DataFile, DataUnit
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate, shape_one
from synapse_sdk.local.presign import EXPIRES, SIGNATURE, check_signature, install_log_redaction
from synapse_sdk.local.routers._common import (
    DbInt,
    StrictBody,
    file_links,
    get_or_404,
    path_id,
    signing_key_async,
    upload_name,
)
from synapse_sdk.local.serializers import data_file_out
from synapse_sdk.local.state import State, get_state
from synapse_sdk.local.storage import remove_stored, store_file
from synapse_sdk.local.units import units_out
from synapse_sdk.local.views import DATA_FILES, DATA_UNITS

router = APIRouter()

install_log_redaction()  # the signatures of presigned links never reach uvicorn's access log

#: Files up to this size are answered from memory in one go; larger ones stream from disk.
SMALL_FILE_BYTES = 1 << 20

_UNIT_FILTERS = {
    'id': FilterField(DataUnit.id, parse_int),
    'data_collection': FilterField(DataUnit.data_collection_id, parse_int),
    'key': FilterField(DataUnit.key, parse_str, nullable=True),
}


class UnitFileIn(StrictBody):
    file: DbInt = Field(description='id of an uploaded data file')
    is_primary: bool = False


class DataUnitIn(StrictBody):
    data_collection: DbInt
    key: str | None = None
    files: dict[str, UnitFileIn] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)


def validate_unit_files(session: Session, collection: DataCollection, files: dict[str, UnitFileIn]) -> None:
    specs = {spec['name'] for spec in collection.file_specifications}
    for name, entry in files.items():
        if specs and name not in specs:
            raise HTTPException(400, f'files.{name}: not a file specification of data collection {collection.id}')
        get_or_404(session, DataFile, entry.file, f'files.{name}: data file')


@router.get('/data_units/')
def list_data_units(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _UNIT_FILTERS, RESERVED_PARAMS)
    links = file_links(request)
    with state.db.read() as session:

        def render(units: Sequence[DataUnit]) -> list[dict[str, Any]]:
            return list(units_out(session, units, links).values())

        return paginate(request, state, session, select(DataUnit).where(*clauses), render, DATA_UNITS)


@router.post('/data_units/', status_code=201)
def create_data_unit(body: DataUnitIn, request: Request, state: State) -> dict[str, Any]:
    links = file_links(request)  # before the write transaction: making the signing key writes too
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
        return units_out(session, [unit], links)[unit.id]


@router.get('/data_units/{unit_id}/')
def get_data_unit(unit_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        unit = get_or_404(session, DataUnit, unit_id, 'Data unit')
        return shape_one(request, DATA_UNITS, units_out(session, [unit], file_links(request))[unit.id])


@router.post('/data_files/', status_code=201)
def upload_data_file(file: Annotated[UploadFile, File()], request: Request, state: State) -> dict[str, Any]:
    """Store an upload under its own name's last component (400 for ``.``, ``..`` or a name over 255 bytes)."""
    name = upload_name(file.filename, 'upload.bin')
    links = file_links(request)
    stored: list[str] = []
    try:
        with state.db.write() as session:
            row = store_file(session, state.paths, file.file, name, stored)
            return data_file_out(row, links)
    except BaseException:
        for rel in stored:  # the row was not committed: nothing may point at the bytes
            remove_stored(state.paths, rel)
        raise


class ExternalFileIn(StrictBody):
    url: HttpUrl = Field(description='where the file is kept (http or https)')
    file_name_original: str = Field(min_length=1, max_length=500)
    size: int = Field(default=0, ge=0, le=INT64_MAX)
    checksum: str = Field(default='', max_length=64)


@router.post('/data_files/external/', status_code=201)
def register_external_file(body: ExternalFileIn, request: Request, state: State) -> dict[str, Any]:
    """Local extension: reference a file kept in external storage (like the platform's storage providers)."""
    name = body.file_name_original
    links = file_links(request)
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
        return data_file_out(row, links)


@router.get('/data_files/{file_id}/')
def get_data_file(file_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        row = get_or_404(session, DataFile, file_id, 'Data file')
        return shape_one(request, DATA_FILES, data_file_out(row, file_links(request)))


#: Built once, so that each download reuses the compiled statement.
_DOWNLOAD = select(
    DataFile.path,
    DataFile.size,
    DataFile.content_type,
    DataFile.file_name_original,
    DataFile.external_url,
    DataFile.checksum,
).where(DataFile.id == bindparam('file_id'))


@router.get('/files/{file_id}/', response_model=None)
async def download_file(file_id: str, request: Request) -> Response:
    """The stored bytes (a redirect for external files); async, as a download is the hottest read.

    A request with a ``signature`` (a presigned link) is judged by its signature alone, as the token
    gate lets it through without a token; 403 with the reason when the link is altered or expired.
    """
    state = get_state(request)
    ident = path_id(file_id, 'File')
    query = request.query_params
    if SIGNATURE in query:
        problem = check_signature(await signing_key_async(state), ident, query.get(EXPIRES), query.get(SIGNATURE))
        if problem is not None:
            raise HTTPException(403, problem)
    with state.db.connect() as conn:
        row = conn.execute(_DOWNLOAD, {'file_id': ident}).first()
    if row is None:
        raise HTTPException(404, f'File {file_id} not found')
    if row.external_url:
        return RedirectResponse(row.external_url, status_code=307)
    path = state.paths.storage / row.path
    if row.size > SMALL_FILE_BYTES:
        if not path.is_file():
            raise HTTPException(404, f'File {file_id} is missing from storage')
        return FileResponse(path, media_type=row.content_type, filename=row.file_name_original)
    try:
        content = path.read_bytes()
    except OSError:
        raise HTTPException(404, f'File {file_id} is missing from storage') from None
    headers = {'content-disposition': _disposition(row.file_name_original), 'etag': f'"{row.checksum}"'}
    return Response(content, media_type=row.content_type, headers=headers)


def _disposition(name: str) -> str:
    quoted = quote(name)
    return f"attachment; filename*=utf-8''{quoted}" if quoted != name else f'attachment; filename="{name}"'
