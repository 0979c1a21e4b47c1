"""Where credentials come from (``create_backend_client()`` in :mod:`synapse_sdk.connect` uses them).

Each of host, token and tenant resolves in order: argument → environment (``SYNAPSE_HOST``,
``SYNAPSE_ACCESS_TOKEN``, ``SYNAPSE_TENANT``) → ``~/.synapse/config.json``
(``$SYNAPSE_CONFIG_DIR/config.json`` when set) → the embedded local backend when no host is
configured anywhere. The local backend is reached over HTTP when ``synapse local serve`` is
running for the state directory (it records its URL in ``server.json``), else in this process.

Secrets stay with the host they were saved for: the config file's ``access_token`` and
``tenant`` are used only when the resolved host is the file's ``host`` (so ``SYNAPSE_HOST=B`` never
receives the token saved for A), and the local backend's own token only when the target is the
local backend (in-process, or the URL that ``synapse local serve`` recorded).
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from synapse_sdk.clients.base.call import safe_target
from synapse_sdk.clients.base.pagination import _origin

__all__ = [
    'config_path',
    'explain_refusal',
    'forget_credentials',
    'read_config',
    'resolve_credentials',
    'same_host',
    'token_source',
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


def same_host(a: str | None, b: str | None) -> bool:
    """Whether two base URLs name the same backend (scheme, host, port and path; trailing ``/`` ignored)."""
    if a is None or b is None:
        return a is b
    return _origin(a) == _origin(b) and urlsplit(a).path.rstrip('/') == urlsplit(b).path.rstrip('/')


def resolve_credentials(
    host: str | None = None,
    access_token: str | None = None,
    tenant: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> dict[str, str | None]:
    """``{host, access_token, tenant}``: argument → environment → config file (None when none).

    The file's token and tenant count only when the resolved host is the file's host.
    """
    config: dict[str, Any] | None = None

    def file_value(key: str) -> str | None:
        nonlocal config
        if config is None:
            config = read_config(config_path)
        value = config.get(key)
        return str(value) if value else None

    def first(key: str, given: str | None) -> str | None:
        return given or os.environ.get(_ENV[key]) or None

    resolved_host = first('host', host) or file_value('host')
    out: dict[str, str | None] = {'host': resolved_host}
    for key, given in (('access_token', access_token), ('tenant', tenant)):
        value = first(key, given)
        if value is None and same_host(file_value('host'), resolved_host):
            value = file_value(key)
        out[key] = value
    return out


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


def token_source(token: str, *, config_file: str | os.PathLike[str] | None = None) -> str | None:
    """Where ``token`` was configured: ``'SYNAPSE_ACCESS_TOKEN'``, ``'the config file <path>'``, or None.

    Only compares; the token is never shown. A config file that cannot be read counts as not holding it.
    """
    if _same_secret(os.environ.get(_ENV['access_token']), token):
        return _ENV['access_token']
    try:
        saved = read_config(config_file).get('access_token')
    except ValueError:
        saved = None
    if isinstance(saved, str) and _same_secret(saved, token):
        return f'the config file {config_path(config_file)}'
    return None


def explain_refusal(detail: object, base_url: str, token: str | None, *, kind: str = 'access_token') -> str:
    """The text of a 401 from ``base_url``: the backend's answer, then which token it refused and what to do.

    ``kind`` is the constructor argument the token was given as (``access_token`` or ``user_token``).
    The text never holds the token, and survives :func:`~synapse_sdk.utils.redact.redact` unchanged.
    """
    answer = _sentence(detail)
    url = shown_url(base_url)
    login = f'`synapse login --host {url}`'
    variable = _ENV['access_token']
    if not token:
        return f'{answer} The backend at {url} needs an access token; run {login}, or set {variable}'
    source = token_source(token) if kind == 'access_token' else None
    if source is None:
        return (
            f'{answer} The backend at {url} refused the {kind.replace("_", " ")} given to the client; '
            f'pass a valid one, or run {login} and make the client with create_backend_client()'
        )
    if source == variable:
        return (
            f'{answer} The backend at {url} refused the access token from {variable} (an environment variable); '
            f'set a valid one there, or unset it to use the one {login} saves'
        )
    return f'{answer} The backend at {url} refused the access token saved in {source}; run {login} to save a valid one'


def _same_secret(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _sentence(detail: object) -> str:
    text = ' '.join(str(detail or 'Authentication failed').split())
    return text if text.endswith(('.', '!', '?')) else f'{text}.'


def shown_url(base_url: str) -> str:
    """``scheme://host[:port]/path`` of the backend, without user info or query."""
    scheme = base_url.partition('://')[0]
    return f'{scheme}://{safe_target(base_url)}'
