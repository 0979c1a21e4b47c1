"""``models/`` and ``storages/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['ModelsResource', 'StoragesResource']


class ModelsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('models/', dict(params or {})), list_all=list_all)

    def get(self, model_id: int) -> Reply:
        return self._client._call(Call('GET', f'models/{model_id}/'), as_object('model'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        """``{name, plugin_release?, file? (uploaded data file id), metadata?}``."""
        return self._client._call(Call('POST', 'models/', json=dict(data)), as_object('model'))


class StoragesResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('storages/', dict(params or {})), list_all=list_all)

    def get(self, storage_id: int) -> Reply:
        return self._client._call(Call('GET', f'storages/{storage_id}/'), as_object('storage'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        return self._client._call(Call('POST', 'storages/', json=dict(data)), as_object('storage'))
