"""Where credentials come from, and ``create_backend_client()``.

Each of host, token and tenant resolves on its own: argument → environment
(``SYNAPSE_HOST``, ``SYNAPSE_ACCESS_TOKEN``, ``SYNAPSE_TENANT``) → ``~/.synapse/config.json``
(``$SYNAPSE_CONFIG_DIR/config.json`` when set) → the embedded local backend when no host is
configured anywhere. The local backend is reached over HTTP when ``synapse local serve`` is
running for the state directory (it records its URL in ``server.json``), else in this process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from synapse_sdk.clients.backend.client import BackendClient

__all__ = [
    'config_path',
    'create_backend_client',
    'forget_credentials',
    'read_config',
    'resolve_credentials',
    'verify_and_save',
    'write_config',
]

_ENV = {'host': 'SYNAPSE_HOST', 'access_token': 'SYNAPSE_ACCESS_TOKEN', 'tenant': 'SYNAPSE_TENANT'}


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    if path is not None:
        return Path(path).expanduser()
    folder = os.environ.get('SYNAPSE_CONFIG_DIR')
    return (Path(folder) if folder else Path('~/.synapse')).expanduser() / 'config.json'


def read_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The config file's keys, ``{}`` when it does not exist; a broken file is an error naming it."""
    file = config_path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(
            f'Cannot read {file}: {exc}. Fix the JSON or remove the file and run `synapse login`.'
        ) from exc
    if not isinstance(data, dict):
        raise ValueError(f'{file} must hold a JSON object; remove it and run `synapse login`.')
    return data


def write_config(updates: dict[str, Any], path: str | os.PathLike[str] | None = None) -> Path:
    """Merge ``updates`` into the config file; the file is mode 0600 before any secret is written."""
    file = config_path(path)
    merged = {**read_config(file), **updates}
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = file.with_name(f'.{file.name}.{os.getpid()}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (json.dumps(merged, indent=2) + '\n').encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, file)
    return file


def resolve_credentials(
    host: str | None = None,
    access_token: str | None = None,
    tenant: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> dict[str, str | None]:
    """``{host, access_token, tenant}``, each from the first source that has it (None when none)."""
    given = {'host': host, 'access_token': access_token, 'tenant': tenant}
    config: dict[str, Any] | None = None
    out: dict[str, str | None] = {}
    for key, value in given.items():
        if not value:
            value = os.environ.get(_ENV[key]) or None
        if not value:
            if config is None:
                config = read_config(config_path)
            value = config.get(key) or None
        out[key] = str(value) if value else None
    return out


def create_backend_client(
    host: str | None = None,
    access_token: str | None = None,
    tenant: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> BackendClient | None:
    """A client for the configured backend, or the embedded local one when no host is configured.

    Returns None for a remote host without a token.
    """
    creds = resolve_credentials(host, access_token, tenant, config_path=config_path)
    if creds['host'] is None:
        from synapse_sdk.local.connect import connect_local

        return connect_local(access_token=creds['access_token'], tenant=creds['tenant'])
    if creds['access_token'] is None:
        return None
    return BackendClient(creds['host'], creds['access_token'], tenant=creds['tenant'])


def verify_and_save(
    host: str, token: str, *, tenant: str | None = None, path: str | os.PathLike[str] | None = None
) -> Path:
    """Check the token with one authenticated request, then merge host/token/tenant into the config file."""
    from synapse_sdk.exceptions import AuthenticationError

    with BackendClient(host, token, tenant=tenant) as client:
        try:
            client.projects.list({'page_size': 1}, list_all=True)
        except AuthenticationError as exc:
            raise AuthenticationError(401, f'The backend refused the token ({exc.detail}); nothing was saved') from exc
    updates: dict[str, Any] = {'host': host.rstrip('/') + '/', 'access_token': token}
    if tenant:
        updates['tenant'] = tenant
    return write_config(updates, path)


def forget_credentials(path: str | os.PathLike[str] | None = None) -> bool:
    """Drop host and tokens from the config file; False when there were none."""
    config = read_config(path)
    secrets = ('host', 'access_token', 'user_token', 'tenant')
    if not any(key in config for key in secrets):
        return False
    file = config_path(path)
    kept = {key: value for key, value in config.items() if key not in secrets}
    file.unlink()
    write_config(kept, file)
    return True
