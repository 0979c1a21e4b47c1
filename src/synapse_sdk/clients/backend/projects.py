"""``projects/``, ``data_collections/``, ``data_units/`` and ``data_files/``."""

from __future__ import annotations

import builtins
from typing import Any, BinaryIO

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call, encode_params

__all__ = [
    'DataCollectionsResource',
    'DataFilesResource',
    'DataUnitsResource',
    'ProjectsResource',
    'build_create',
    'build_get',
    'build_get_data_unit',
    'build_upload_file',
]


def build_get(resource: str, ident: int | str, params: dict[str, Any] | None = None) -> Call:
    return Call('GET', f'{resource}/{ident}/', params=encode_params(params) or None)


def build_create(resource: str, body: dict[str, Any]) -> Call:
    return Call('POST', f'{resource}/', json=body)


def build_get_data_unit(unit_id: int, params: dict[str, Any] | None = None) -> Call:
    return build_get('data_units', unit_id, {'expand': 'files', **(params or {})})


def build_upload_file(file: BinaryIO | bytes, name: str) -> Call:
    return Call('POST', 'data_files/', files={'file': (name, file)})


class ProjectsResource(Resource):
    def get(self, project_id: int) -> Reply:
        return self._client._call(build_get('projects', project_id), as_object('project'))

    def list(self, params: dict[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('projects/', params), list_all=list_all)

    def create(self, name: str, *, data_collection: int | None = None, description: str = '') -> Reply:
        body = {'name': name, 'data_collection': data_collection, 'description': description}
        return self._client._call(build_create('projects', body), as_object('project'))


class DataCollectionsResource(Resource):
    def get(self, collection_id: int) -> Reply:
        return self._client._call(build_get('data_collections', collection_id), as_object('data collection'))

    def list(self, params: dict[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('data_collections/', params), list_all=list_all)

    def create(self, name: str, file_specifications: builtins.list[dict[str, Any]]) -> Reply:
        body = {'name': name, 'file_specifications': file_specifications}
        return self._client._call(build_create('data_collections', body), as_object('data collection'))


class DataUnitsResource(Resource):
    def get(self, unit_id: int, params: dict[str, Any] | None = None) -> Reply:
        """With its files inlined (``expand=files``), in the dict form ``{spec: {url, is_primary, ...}}``."""
        return self._client._call(build_get_data_unit(unit_id, params), as_object('data unit'))

    def list(self, params: dict[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('data_units/', params), list_all=list_all)

    def create(self, data_collection: int, files: dict[str, dict[str, Any]], *, key: str | None = None) -> Reply:
        """``files``: ``{spec name: {"file": <data file id>, "is_primary": bool}}``."""
        body = {'data_collection': data_collection, 'files': files, 'key': key}
        return self._client._call(build_create('data_units', body), as_object('data unit'))


class DataFilesResource(Resource):
    def upload(self, file: BinaryIO | bytes, name: str) -> Reply:
        """Upload bytes (multipart); answers ``{id, url, checksum, size, ...}``."""
        return self._client._call(build_upload_file(file, name), as_object('data file'))

    def register_external(self, url: str, name: str, *, size: int = 0, checksum: str = '') -> Reply:
        """Reference a file kept in external storage (local backend extension ``data_files/external/``)."""
        body = {'url': url, 'file_name_original': name, 'size': size, 'checksum': checksum}
        return self._client._call(Call('POST', 'data_files/external/', json=body), as_object('data file'))

    def download(self, url: str, *, max_bytes: int | None = None) -> Reply:
        """Bytes at ``url``; auth headers are sent only when it is on the backend's host.

        With ``max_bytes``, a larger body raises :class:`~synapse_sdk.exceptions.ResponseTooLargeError`
        without being read into memory.
        """
        return self._client._call(Call('GET', url, response='bytes', max_bytes=max_bytes), bytes)

    def download_json(self, url: str) -> Reply:
        """The JSON document at ``url`` (same auth rule as :meth:`download`)."""
        return self._client._call(Call('GET', url), lambda body: body)
