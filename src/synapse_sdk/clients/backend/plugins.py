"""``plugins/``, ``plugin_releases/`` and ``plugins/{code}/run/``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, BinaryIO

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['PluginReleasesResource', 'PluginsResource', 'build_publish_release', 'build_run_plugin']

_RUN_KEYS = ('agent', 'action', 'params', 'version', 'job_id', 'storage_id', 'debug', 'language')


def build_run_plugin(code: str, data: Mapping[str, Any]) -> Call:
    """Keys whose value is None are omitted, never sent as null; unknown keys are refused here."""
    unknown = sorted(set(data) - set(_RUN_KEYS))
    if unknown:
        raise ValueError(f"Unknown run_plugin key '{unknown[0]}'; expected some of: {', '.join(_RUN_KEYS)}")
    body = {key: data[key] for key in _RUN_KEYS if data.get(key) is not None}
    return Call('POST', f'plugins/{code}/run/', json=body)


def build_get_release(ident: int | str) -> Call:
    """By id, or by ``'<code>@<version>'``."""
    return Call('GET', f'plugin_releases/{ident}/')


def build_publish_release(
    plugin: str,
    version: str,
    config: Mapping[str, Any],
    archive: BinaryIO | bytes | None = None,
    *,
    debug: bool = False,
) -> Call:
    data = {'plugin': plugin, 'version': version, 'config': json.dumps(config), 'debug': 'true' if debug else 'false'}
    files = {'file': (f'{plugin}-{version}.zip', archive, 'application/zip')} if archive is not None else None
    return Call('POST', 'plugin_releases/', data=data, files=files)


class PluginsResource(Resource):
    def get(self, ident: int | str) -> Reply:
        return self._client._call(Call('GET', f'plugins/{ident}/'), as_object('plugin'))

    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('plugins/', dict(params or {})), list_all=list_all)

    def create(self, code: str, *, name: str = '', category: str = 'custom') -> Reply:
        body = {'code': code, 'name': name, 'category': category}
        return self._client._call(Call('POST', 'plugins/', json=body), as_object('plugin'))

    def run(self, code: str, data: Mapping[str, Any]) -> Reply:
        """Run an action on an agent: ``{agent, action, params, version?, job_id?, ...}``.

        ``deployment`` and job actions answer ``{"job_id": ...}``; ``inference`` the pre-processor's output.
        """
        return self._client._call(build_run_plugin(code, data), lambda body: body)


class PluginReleasesResource(Resource):
    def get(self, ident: int | str) -> Reply:
        """``{id, version, code, config: {...the published config.yaml...}, file}``."""
        return self._client._call(build_get_release(ident), as_object('plugin release'))

    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('plugin_releases/', dict(params or {})), list_all=list_all)

    def publish(
        self,
        plugin: str,
        version: str,
        config: Mapping[str, Any],
        archive: BinaryIO | bytes | None = None,
        *,
        debug: bool = False,
    ) -> Reply:
        call = build_publish_release(plugin, version, config, archive, debug=debug)
        return self._client._call(call, as_object('plugin release'))
