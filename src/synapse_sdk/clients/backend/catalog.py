"""``models/`` (with the model file upload) and ``storages/``."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.backend.projects import build_upload_file
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.client import Flow

__all__ = ['ModelsResource', 'StoragesResource', 'build_create_model', 'model_upload_flow', 'open_model_file']


def build_create_model(data: Mapping[str, Any]) -> Call:
    """``{name, plugin_release?, file? (an uploaded data file id), metadata?}``."""
    return Call('POST', 'models/', json=dict(data))


@contextmanager
def open_model_file(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, str]]:
    """``(binary file, upload name)`` for a model file, or for a folder zipped into a temporary file."""
    source = Path(path)
    if source.is_file():
        with open(source, 'rb') as handle:
            yield handle, source.name
        return
    if not source.is_dir():
        raise FileNotFoundError(f'Model path not found: {source} (expected a file or a folder of model files)')
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as zipped:
            for file in sorted(p for p in source.rglob('*') if p.is_file()):
                zipped.write(file, file.relative_to(source).as_posix())
        archive.seek(0)
        yield archive, f'{source.resolve().name or "model"}.zip'


def model_upload_flow(data: Mapping[str, Any]) -> Flow:
    """Upload ``data['file']`` (a path: a file, or a folder sent as a zip), then create the model record."""
    body = dict(data)
    with open_model_file(body.pop('file')) as (handle, name):
        uploaded = as_object('data file')((yield build_upload_file(handle, name)))
    return as_object('model')((yield build_create_model({**body, 'file': uploaded['id']})))


class ModelsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('models/', dict(params or {})), list_all=list_all)

    def get(self, model_id: int) -> Reply:
        return self._client._call(Call('GET', f'models/{model_id}/'), as_object('model'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        """``data['file']``: an uploaded data file's id, or a path to upload first (a folder is zipped).

        E.g. ``create({'file': './model', 'name': 'my-model', 'metadata': {'map': 0.5}})``.
        """
        if isinstance(data.get('file'), str | os.PathLike):
            return self._client._run(model_upload_flow(data))
        return self._client._call(build_create_model(data), as_object('model'))


class StoragesResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('storages/', dict(params or {})), list_all=list_all)

    def get(self, storage_id: int) -> Reply:
        return self._client._call(Call('GET', f'storages/{storage_id}/'), as_object('storage'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        return self._client._call(Call('POST', 'storages/', json=dict(data)), as_object('storage'))
