"""Training datasets: ``ground_truth_dataset_versions/`` and their items (``sdk/ground_truth_events/``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.client import Flow
from synapse_sdk.clients.base.pagination import collect_pages

__all__ = ['DatasetsResource', 'build_get_dataset_version', 'build_list_dataset_items', 'dataset_flow']


def build_get_dataset_version(dataset_id: int) -> Call:
    return Call('GET', f'ground_truth_dataset_versions/{dataset_id}/')


def build_list_dataset_items(dataset_id: int, params: Mapping[str, Any] | None = None) -> Call:
    """Items of one dataset with their data units' files inlined (``expand=data_unit``)."""
    query = {'ground_truth_dataset_versions': dataset_id, 'expand': 'data_unit', **(params or {})}
    return list_call('sdk/ground_truth_events/', query)


def dataset_flow(base_url: str, dataset_id: int, params: Mapping[str, Any] | None = None) -> Flow:
    """``{id, name, count, ..., items: [{id, data_unit: {files}, category, data}, ...]}`` (every page read)."""
    version = as_object('dataset')((yield build_get_dataset_version(dataset_id)))
    items = yield from collect_pages(base_url, build_list_dataset_items(dataset_id, params))
    return {**version, 'items': items}


class DatasetsResource(Resource):
    def get(self, dataset_id: int, params: Mapping[str, Any] | None = None) -> Reply:
        """The dataset with all its items; ``params`` filter the items (e.g. ``{'category': 'train'}``)."""
        return self._client._run(dataset_flow(self._client.base_url, dataset_id, params))

    def get_version(self, dataset_id: int) -> Reply:
        """The dataset record alone (``count`` items, no items)."""
        return self._client._call(build_get_dataset_version(dataset_id), as_object('dataset'))

    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('ground_truth_dataset_versions/', dict(params or {})), list_all=list_all)

    def list_items(self, dataset_id: int, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(build_list_dataset_items(dataset_id, params), list_all=list_all)

    def create(self, name: str, *, data_collection: int | None = None) -> Reply:
        body = {'name': name, 'data_collection': data_collection}
        return self._client._call(Call('POST', 'ground_truth_dataset_versions/', json=body), as_object('dataset'))

    def add_items(self, dataset_id: int, items: Sequence[Mapping[str, Any]]) -> Reply:
        """Add ``[{data_unit?, category?, data?}, ...]`` in one all-or-nothing request."""
        body = [{**dict(item), 'ground_truth_dataset_version': dataset_id} for item in items]
        return self._client._call(Call('POST', 'ground_truth_events/', json=body), lambda reply: reply)
