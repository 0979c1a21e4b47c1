"""Storage providers behind one interface: ``get_storage(config)`` → :class:`Storage`.

``config`` is the platform's storage shape ``{'provider': 's3' | 'gcs' | 'sftp' | 'http' | 'local',
'configuration': {...}}``, a storage id of the backend (``storages/{id}/``, read with ``client``), or a
:class:`Storage` (returned as is)::

    storage = get_storage({'provider': 's3', 'configuration': {'bucket_name': 'data', 'access_key': ...}})
    storage.upload(Path('img.jpg'), 'images/img.jpg')

The provider packages (universal-pathlib, fsspec, s3fs, gcsfs, sshfs) are the ``storage`` extra; they
load when a storage is made, never on ``import synapse_sdk.plugins``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synapse_sdk.utils.storage.base import Storage
from synapse_sdk.utils.storage.config import StorageSpec, parse_storage_config
from synapse_sdk.utils.storage.errors import (
    StorageConfigError,
    StorageError,
    StorageNotFoundError,
    StorageReadOnlyError,
)

__all__ = [
    'Storage',
    'StorageConfigError',
    'StorageError',
    'StorageNotFoundError',
    'StorageReadOnlyError',
    'StorageSpec',
    'get_storage',
    'parse_storage_config',
]


def get_storage(config: Mapping[str, Any] | StorageSpec | Storage | int | str, *, client: Any = None) -> Storage:
    """The storage described by ``config`` (see the module docs); ``client`` resolves a storage id."""
    if isinstance(config, Storage):
        return config
    if isinstance(config, bool):
        raise StorageConfigError('storage: expected a storage id or config mapping, got a bool')
    if isinstance(config, int | str):
        config = _fetch(config, client)
    spec = config if isinstance(config, StorageSpec) else parse_storage_config(config)
    from synapse_sdk.utils.storage.providers import build_backing

    return Storage(spec, build_backing(spec))


def _fetch(ident: int | str, client: Any) -> Mapping[str, Any]:
    """The backend's record of storage ``ident`` (``{'provider', 'configuration', ...}``)."""
    if isinstance(ident, str):
        if not ident.strip().isdigit():
            raise StorageConfigError(
                f'storage: {ident!r} is neither a storage id nor a config; '
                "pass an id or {'provider': ..., 'configuration': {...}}"
            )
        ident = int(ident)
    if client is None:
        raise StorageConfigError(f'storage: id {ident} needs a backend client; call get_storage({ident}, client=...)')
    record = client.get_storage(ident)
    if not isinstance(record, Mapping):
        raise StorageConfigError(f'storage {ident}: the backend answered {type(record).__name__}, not a storage')
    return record
