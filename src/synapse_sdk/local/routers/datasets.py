"""Training datasets: ``ground_truth_dataset_versions/`` and their items, ``sdk/ground_truth_events/``.

A dataset version is what a training action's ``params.dataset`` names (``get_dataset()``); each
event is one labelled item: a data unit (its files inlined with ``expand=data_unit``) and label data.
A version may belong to a dataset (``ground_truth_dataset``); datasets and ``ground_truths/`` are in
:mod:`synapse_sdk.local.routers.ground_truths`, whose routes this router carries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synapse_sdk.local.errors import validation_body
from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import (
    DataCollection,
    DatasetItem,
    DatasetVersion,
    DataUnit,
    GroundTruthDataset,
    GroundTruthDatasetLink,
)
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate, shape_one
from synapse_sdk.local.routers import ground_truths
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links, get_or_404
from synapse_sdk.local.serializers import dataset_item_out, dataset_version_out
from synapse_sdk.local.state import State
from synapse_sdk.local.units import expand_units
from synapse_sdk.local.views import DATASET_ITEMS, DATASETS

router = APIRouter()
router.routes.extend(ground_truths.router.routes)  # routes, not a sub-router: each is a route of this router

_version_dataset = (
    select(GroundTruthDatasetLink.dataset_id)
    .where(GroundTruthDatasetLink.version_id == DatasetVersion.id)
    .scalar_subquery()
)
_VERSION_FILTERS = {
    'id': FilterField(DatasetVersion.id, parse_int),
    'name': FilterField(DatasetVersion.name, parse_str),
    'data_collection': FilterField(DatasetVersion.data_collection_id, parse_int, nullable=True),
    'ground_truth_dataset': FilterField(_version_dataset, parse_int, nullable=True),
}
_version = FilterField(DatasetItem.dataset_version_id, parse_int)
_ITEM_FILTERS = {
    'id': FilterField(DatasetItem.id, parse_int),
    # the platform's spelling is plural; the singular is accepted too
    'ground_truth_dataset_versions': _version,
    'ground_truth_dataset_version': _version,
    'data_unit': FilterField(DatasetItem.data_unit_id, parse_int, nullable=True),
    'category': FilterField(DatasetItem.category, parse_str, nullable=True),
}
_counts = (
    select(func.count(DatasetItem.id)).where(DatasetItem.dataset_version_id == DatasetVersion.id).scalar_subquery()
)


class DatasetVersionIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    data_collection: DbInt | None = None
    ground_truth_dataset: DbInt | None = None


class DatasetItemIn(StrictBody):
    ground_truth_dataset_version: DbInt
    data_unit: DbInt | None = None
    category: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)


_ONE = TypeAdapter(DatasetItemIn)
_MANY = TypeAdapter(list[DatasetItemIn])


def _parse_items(body: Any) -> list[DatasetItemIn]:
    if not isinstance(body, dict | list):
        raise HTTPException(400, 'body: expected a ground truth event object or a list of them')
    try:
        return _MANY.validate_python(body) if isinstance(body, list) else [_ONE.validate_python(body)]
    except PydanticValidationError as exc:
        root = 'events' if isinstance(body, list) else ''
        raise HTTPException(400, validation_body(exc.errors(include_url=False), root)) from None


@router.get('/ground_truth_dataset_versions/')
def list_versions(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _VERSION_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        stmt = select(DatasetVersion, _counts, _version_dataset).where(*clauses)
        render = lambda rows: [dataset_version_out(row, count, dataset) for row, count, dataset in rows]  # noqa: E731
        return paginate(request, state, session, stmt, render, DATASETS)


@router.post('/ground_truth_dataset_versions/', status_code=201)
def create_version(body: DatasetVersionIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.data_collection is not None:
            get_or_404(session, DataCollection, body.data_collection, 'Data collection')
        if body.ground_truth_dataset is not None:
            get_or_404(session, GroundTruthDataset, body.ground_truth_dataset, 'Ground truth dataset')
        row = DatasetVersion(name=body.name, data_collection_id=body.data_collection)
        session.add(row)
        session.flush()
        if body.ground_truth_dataset is not None:
            session.add(GroundTruthDatasetLink(version_id=row.id, dataset_id=body.ground_truth_dataset))
        return dataset_version_out(row, 0, body.ground_truth_dataset)


@router.get('/ground_truth_dataset_versions/{version_id}/')
def get_version(version_id: int, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        row = get_or_404(session, DatasetVersion, version_id, 'Ground truth dataset version')
        count = session.scalar(select(func.count(DatasetItem.id)).where(DatasetItem.dataset_version_id == row.id))
        dataset = ground_truths.dataset_of_versions(session, [row.id]).get(row.id)
        return shape_one(request, DATASETS, dataset_version_out(row, count or 0, dataset))


def _render_items(session: Session, rows: list[DatasetItem], request: Request, expand: bool) -> list[dict[str, Any]]:
    units = {}
    if expand:
        ids = {row.data_unit_id for row in rows if row.data_unit_id is not None}
        units = expand_units(session, ids, file_links(request))
    return [dataset_item_out(row, units.get(row.data_unit_id or 0)) for row in rows]


@router.get('/sdk/ground_truth_events/')
@router.get('/ground_truth_events/')
def list_items(request: Request, state: State) -> dict[str, Any]:
    shape = DATASET_ITEMS.parse(request)
    clauses = build_clauses(query_multi(request.query_params), _ITEM_FILTERS, RESERVED_PARAMS)
    expand = 'data_unit' in shape.expand
    with state.db.read() as session:
        stmt = select(DatasetItem).where(*clauses)
        render = lambda rows: _render_items(session, list(rows), request, expand)  # noqa: E731
        return paginate(request, state, session, stmt, render, DATASET_ITEMS, shape)


@router.post('/ground_truth_events/', status_code=201)
def create_items(body: Annotated[Any, Body()], request: Request, state: State) -> Any:
    """One event or a list, written in one transaction (all or none)."""
    entries = _parse_items(body)
    with state.db.write() as session:
        for index, entry in enumerate(entries):
            where = f'events[{index}]: ' if isinstance(body, list) else ''
            try:
                get_or_404(session, DatasetVersion, entry.ground_truth_dataset_version, 'Ground truth dataset version')
                if entry.data_unit is not None:
                    get_or_404(session, DataUnit, entry.data_unit, 'Data unit')
            except HTTPException as exc:
                raise HTTPException(404, f'{where}{exc.detail}') from None
        rows = [
            DatasetItem(
                dataset_version_id=e.ground_truth_dataset_version,
                data_unit_id=e.data_unit,
                category=e.category,
                data=e.data,
            )
            for e in entries
        ]
        session.add_all(rows)
        session.flush()
        out = [dataset_item_out(row) for row in rows]
    return out if isinstance(body, list) else out[0]
