"""``ground_truth_datasets/`` and ``ground_truths/``: datasets of versions, and their items with files.

A dataset (the platform's ground truth dataset) groups dataset versions (``ground_truth_dataset_versions/``,
each created with ``ground_truth_dataset``); a ground truth is one item of a version (a
``ground_truth_events/`` row) with its data unit's files inlined under ``files`` (presigned links,
so that the platform's client, which downloads them without a token, gets the bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import FilterField, build_clauses, in_values, parse_int, parse_str, query_multi
from synapse_sdk.local.models import (
    DataCollection,
    DatasetItem,
    GroundTruthDataset,
    GroundTruthDatasetLink,
    Project,
)
from synapse_sdk.local.pagination import RESERVED_PARAMS, paginate, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links, get_or_404, path_id
from synapse_sdk.local.serializers import ground_truth_dataset_out, ground_truth_out
from synapse_sdk.local.state import State
from synapse_sdk.local.storage import FileLinks
from synapse_sdk.local.units import expand_units
from synapse_sdk.local.views import GROUND_TRUTH_DATASETS, GROUND_TRUTHS

__all__ = ['dataset_of_versions', 'router']

router = APIRouter()

_item_dataset = (
    select(GroundTruthDatasetLink.dataset_id)
    .where(GroundTruthDatasetLink.version_id == DatasetItem.dataset_version_id)
    .scalar_subquery()
)
_version = FilterField(DatasetItem.dataset_version_id, parse_int)
_TRUTH_FILTERS = {
    'id': FilterField(DatasetItem.id, parse_int),
    # the platform's filter is plural; the singular is accepted too
    'ground_truth_dataset_versions': _version,
    'ground_truth_dataset_version': _version,
    'ground_truth_dataset': FilterField(_item_dataset, parse_int, nullable=True),
    'data_unit': FilterField(DatasetItem.data_unit_id, parse_int, nullable=True),
    'category': FilterField(DatasetItem.category, parse_str, nullable=True),
}
_DATASET_FILTERS = {
    'id': FilterField(GroundTruthDataset.id, parse_int),
    'name': FilterField(GroundTruthDataset.name, parse_str),
    'project': FilterField(GroundTruthDataset.project_id, parse_int, nullable=True),
    'data_collection': FilterField(GroundTruthDataset.data_collection_id, parse_int, nullable=True),
}


class GroundTruthDatasetIn(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    project: DbInt | None = None
    data_collection: DbInt | None = None


def dataset_of_versions(session: Session, version_ids: Sequence[int]) -> dict[int, int]:
    """``{version id: dataset id}`` for the versions that belong to a dataset."""
    if not version_ids:
        return {}
    stmt = select(GroundTruthDatasetLink.version_id, GroundTruthDatasetLink.dataset_id).where(
        in_values(GroundTruthDatasetLink.version_id, sorted(set(version_ids)))
    )
    return {version: dataset for version, dataset in session.execute(stmt).all()}


def _versions_of(session: Session, dataset_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {ident: [] for ident in dataset_ids}
    if dataset_ids:
        stmt = (
            select(GroundTruthDatasetLink.dataset_id, GroundTruthDatasetLink.version_id)
            .where(in_values(GroundTruthDatasetLink.dataset_id, sorted(set(dataset_ids))))
            .order_by(GroundTruthDatasetLink.version_id)
        )
        for dataset, version in session.execute(stmt).all():
            out[dataset].append(version)
    return out


def _render_truths(session: Session, rows: Sequence[DatasetItem], links: FileLinks) -> list[dict[str, Any]]:
    units = expand_units(session, {row.data_unit_id for row in rows if row.data_unit_id is not None}, links)
    datasets = dataset_of_versions(session, [row.dataset_version_id for row in rows])
    return [
        ground_truth_out(
            row,
            units[row.data_unit_id]['files'] if row.data_unit_id in units else {},
            datasets.get(row.dataset_version_id),
        )
        for row in rows
    ]


@router.get('/ground_truths/')
def list_ground_truths(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _TRUTH_FILTERS, RESERVED_PARAMS)
    links = file_links(request)
    with state.db.read() as session:
        stmt = select(DatasetItem).where(*clauses)
        render = lambda rows: _render_truths(session, list(rows), links)  # noqa: E731
        return paginate(request, state, session, stmt, render, GROUND_TRUTHS)


@router.get('/ground_truths/{truth_id}/')
def get_ground_truth(truth_id: str, request: Request, state: State) -> dict[str, Any]:
    ident = path_id(truth_id, 'Ground truth')
    with state.db.read() as session:
        row = get_or_404(session, DatasetItem, ident, 'Ground truth')
        return shape_one(request, GROUND_TRUTHS, _render_truths(session, [row], file_links(request))[0])


@router.get('/ground_truth_datasets/')
def list_datasets(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _DATASET_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:

        def render(rows: Sequence[GroundTruthDataset]) -> list[dict[str, Any]]:
            versions = _versions_of(session, [row.id for row in rows])
            return [ground_truth_dataset_out(row, versions[row.id]) for row in rows]

        stmt = select(GroundTruthDataset).where(*clauses)
        return paginate(request, state, session, stmt, render, GROUND_TRUTH_DATASETS)


@router.post('/ground_truth_datasets/', status_code=201)
def create_dataset(body: GroundTruthDatasetIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if body.project is not None:
            get_or_404(session, Project, body.project, 'Project')
        if body.data_collection is not None:
            get_or_404(session, DataCollection, body.data_collection, 'Data collection')
        row = GroundTruthDataset(name=body.name, project_id=body.project, data_collection_id=body.data_collection)
        session.add(row)
        session.flush()
        return ground_truth_dataset_out(row, [])


@router.get('/ground_truth_datasets/{dataset_id}/')
def get_dataset(dataset_id: str, request: Request, state: State) -> dict[str, Any]:
    ident = path_id(dataset_id, 'Ground truth dataset')
    with state.db.read() as session:
        row = get_or_404(session, GroundTruthDataset, ident, 'Ground truth dataset')
        return shape_one(
            request, GROUND_TRUTH_DATASETS, ground_truth_dataset_out(row, _versions_of(session, [ident])[ident])
        )
