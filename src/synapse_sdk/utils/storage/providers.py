"""Per provider: the root :class:`~upath.UPath` (with the fsspec options) and public URLs of its files.

Imported only by :func:`synapse_sdk.utils.storage.get_storage`: fsspec and the provider's filesystem
(s3fs, gcsfs, sshfs) load on first use, never with ``synapse_sdk.plugins``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from synapse_sdk.utils.storage.config import GCSConfig, HTTPConfig, LocalConfig, S3Config, SFTPConfig, StorageSpec
from synapse_sdk.utils.storage.errors import StorageConfigError

if TYPE_CHECKING:
    from upath import UPath

__all__ = ['Backing', 'build_backing']

_EXTRA = {'s3': 's3fs', 'gcs': 'gcsfs', 'sftp': 'sshfs'}


@dataclass(frozen=True)
class Backing:
    """A provider's root path and how to spell a public URL of a file under it."""

    root: UPath
    url_base: str  #: URL of the root, ending in '/', credential-free
    writable: bool
    needs_dirs: bool  #: parent directories must exist before a write (not so on object stores)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _need(module: str, provider: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise StorageConfigError(
            f"provider: '{provider}' needs the {module} package; install it with: pip install 'synapse-sdk[storage]'"
        )


def _local(cfg: LocalConfig) -> Backing:
    from upath import UPath

    path = Path(os.path.expanduser(cfg.location)).resolve()
    if not path.is_dir():
        raise StorageConfigError(f'configuration.location: {str(path)!r} is not a directory; create it first')
    return Backing(UPath(path), path.as_uri().rstrip('/') + '/', writable=True, needs_dirs=True)


def _s3(cfg: S3Config) -> Backing:
    from upath import UPath

    options: dict[str, Any] = {}
    if cfg.access_key is not None:
        options['key'] = _secret(cfg.access_key)
    if cfg.secret_key is not None:
        options['secret'] = _secret(cfg.secret_key)
    if cfg.session_token is not None:
        options['token'] = _secret(cfg.session_token)
    if cfg.endpoint_url:
        options['endpoint_url'] = cfg.endpoint_url
    if cfg.region_name:
        options['client_kwargs'] = {'region_name': cfg.region_name}
    prefix = f'/{cfg.prefix}' if cfg.prefix else ''
    root = UPath(f's3://{cfg.bucket_name}{prefix}', **options)
    if cfg.endpoint_url:
        base = f'{cfg.endpoint_url.rstrip("/")}/{cfg.bucket_name}/'
    else:
        region = cfg.region_name or 'us-east-1'
        base = f'https://{cfg.bucket_name}.s3.{region}.amazonaws.com/'
    return Backing(root, base + (quote(cfg.prefix) + '/' if cfg.prefix else ''), writable=True, needs_dirs=False)


def _gcs(cfg: GCSConfig) -> Backing:
    import json

    from upath import UPath

    options: dict[str, Any] = {}
    if cfg.credentials is not None:
        text = cfg.credentials.get_secret_value()
        options['token'] = json.loads(text) if text.lstrip().startswith('{') else text
    if cfg.project:
        options['project'] = cfg.project
    prefix = f'/{cfg.prefix}' if cfg.prefix else ''
    root = UPath(f'gs://{cfg.bucket_name}{prefix}', **options)
    base = f'https://storage.googleapis.com/{cfg.bucket_name}/' + (quote(cfg.prefix) + '/' if cfg.prefix else '')
    return Backing(root, base, writable=True, needs_dirs=False)


def _sftp(cfg: SFTPConfig) -> Backing:
    from upath import UPath

    options: dict[str, Any] = {'username': cfg.username, 'port': cfg.port}
    if cfg.password is not None:
        options['password'] = _secret(cfg.password)
    if cfg.private_key:
        options['client_keys'] = [os.path.expanduser(cfg.private_key)]
    if cfg.passphrase is not None:
        options['passphrase'] = _secret(cfg.passphrase)
    if not cfg.verify_host_key:
        options['known_hosts'] = None  # asyncssh: accept any host key (explicitly asked for)
    elif cfg.known_hosts:
        options['known_hosts'] = os.path.expanduser(cfg.known_hosts)
    root_dir = '/' + cfg.root.strip('/')
    root = UPath(f'sftp://{cfg.host}{root_dir}', **options)
    host = f'[{cfg.host}]' if ':' in cfg.host else cfg.host
    base = f'sftp://{quote(cfg.username)}@{host}:{cfg.port}{quote(root_dir.rstrip("/"))}/'
    return Backing(root, base, writable=True, needs_dirs=True)


def _http(cfg: HTTPConfig) -> Backing:
    from upath import UPath

    options: dict[str, Any] = {}
    if cfg.headers:
        options['client_kwargs'] = {'headers': {k: v.get_secret_value() for k, v in cfg.headers.items()}}
    return Backing(UPath(cfg.base_url, **options), cfg.base_url, writable=False, needs_dirs=False)


def build_backing(spec: StorageSpec) -> Backing:
    """The root path of ``spec``'s storage (its filesystem package must be installed)."""
    cfg = spec.configuration
    module = _EXTRA.get(spec.provider)
    if module:
        _need(module, spec.provider)
    if isinstance(cfg, LocalConfig):
        return _local(cfg)
    if isinstance(cfg, S3Config):
        return _s3(cfg)
    if isinstance(cfg, GCSConfig):
        return _gcs(cfg)
    if isinstance(cfg, SFTPConfig):
        return _sftp(cfg)
    return _http(cfg)
