"""``serve_applications/`` and ``agents/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['AgentsResource', 'ServeApplicationsResource']


class ServeApplicationsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False, **filters: Any) -> Reply:
        """E.g. ``list(plugin_code='yolo', job__agent=3)``; every page is read."""
        return self._client._list(
            list_call('serve_applications/', {**dict(params or {}), **filters}), list_all=list_all
        )

    def get(self, app_id: int) -> Reply:
        return self._client._call(Call('GET', f'serve_applications/{app_id}/'), as_object('serve application'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        return self._client._call(Call('POST', 'serve_applications/', json=dict(data)), as_object('serve application'))

    def update(self, app_id: int, data: Mapping[str, Any]) -> Reply:
        call = Call('PATCH', f'serve_applications/{app_id}/', json=dict(data))
        return self._client._call(call, as_object('serve application'))


class AgentsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('agents/', dict(params or {})), list_all=list_all)

    def get(self, agent_id: int) -> Reply:
        return self._client._call(Call('GET', f'agents/{agent_id}/'), as_object('agent'))

    def connect(self, token: str, data: Mapping[str, Any] | None = None) -> Reply:
        return self._client._call(Call('POST', f'agents/{token}/connect/', json=dict(data or {})), as_object('agent'))
