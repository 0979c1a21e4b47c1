"""Plugins published to a backend: ``run_plugin('<code>')`` fetches the release archive and caches it.

The newest release (or the one ``<code>@<version>`` names) is looked up with the configured
backend client. Its archive is downloaded once, unpacked (members that would land outside the
folder are refused) into ``$SYNAPSE_STATE_DIR/plugins/<backend>/<code>/<version>/`` and reused
while the release is unchanged; debug releases, which can be re-published, are fetched every time.

An archive is refused before anything is written when it is over a limit (see :data:`LIMITS`): its
download size, the sum of its members' sizes, or its number of members.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from synapse_sdk.exceptions import ClientError, NotFoundError, PluginError, ResponseTooLargeError, SynapseError
from synapse_sdk.utils.redact import redact

__all__ = ['LIMITS', 'backend_label', 'fetch_published', 'is_plugin_code', 'published_folder']

_CODE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')  # what the backend accepts as a plugin code
_STAMP = '.synapse_release.json'
_CONFIG = 'config.yaml'

#: ``(environment variable, default)`` of each archive limit; the variable overrides the default.
LIMITS = {
    'download': ('SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES', 512 << 20),  # the archive's size
    'unpacked': ('SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES', 2 << 30),  # the sum of its members' sizes
    'members': ('SYNAPSE_PLUGIN_MAX_MEMBERS', 20_000),  # its number of members
}


def _limit(kind: str) -> int:
    name, default = LIMITS[kind]
    raw = os.environ.get(name, '').strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise PluginError(
            f'{name} must be a positive whole number, got {raw!r}; unset it to use the default ({default})',
            {name: raw},
        )
    return value


def _over_limit(label: str, kind: str, fact: str, limit: int) -> PluginError:
    name = LIMITS[kind][0]
    shown = limit if kind == 'members' else _size(limit)
    return PluginError(
        f'The archive of release {label} {fact} (limit {shown}); set {name} to raise it',
        {'release': label, 'limit': name},
    )


def _size(count: int) -> str:
    for unit, shift in (('GiB', 30), ('MiB', 20), ('KiB', 10)):
        if count >= 1 << shift and count % (1 << shift) == 0:
            return f'{count >> shift} {unit}'
    return f'{count} bytes'


def is_plugin_code(text: str) -> bool:
    """Whether ``text`` reads as ``<code>`` or ``<code>@<version>``."""
    code, sep, version = text.partition('@')
    return bool(_CODE.match(code)) and (not sep or bool(_CODE.match(version)))


def backend_label(client: Any) -> str:
    """``scheme://host[:port]`` of the client's backend (never a path, query or credentials)."""
    parts = urlsplit(str(getattr(client, 'base_url', '')))
    host = parts.hostname or '?'
    return f'{parts.scheme}://{host}' + (f':{parts.port}' if parts.port else '')


def published_folder(text: str, client: Any | None, here: Path) -> Path:
    """The local folder of the published plugin ``text``, fetched (and cached) with ``client``.

    ``client`` defaults to the configured backend, closed again afterwards.

    Raises:
        PluginError: ``text`` is not a plugin code, no backend can be used, or it has no such plugin.
    """
    searched = (
        f"Plugin '{text}' not found: it is not a folder, a config.yaml, an importable module, "
        f'nor the code of the plugin in the current directory ({here})'
    )
    if not is_plugin_code(text):
        raise PluginError(f'{searched}; pass the plugin folder or its config.yaml', {'plugin_code': text})
    owned = client is None
    if owned:
        client = _default_client(searched, text)
    if client is None:
        raise PluginError(
            f'{searched}, and no backend is configured to fetch a published plugin from: '
            'run `synapse login` or set SYNAPSE_ACCESS_TOKEN',
            {'plugin_code': text},
        )
    try:
        folder = fetch_published(text, client)
    finally:
        if owned:
            client.close()
    if folder is None:
        raise PluginError(
            f'{searched}, nor a plugin published to the backend at {backend_label(client)}', {'plugin_code': text}
        )
    return folder


def _default_client(searched: str, text: str) -> Any | None:
    from synapse_sdk.plugins._backend import default_client

    try:
        return default_client()
    except (ImportError, SynapseError) as exc:
        raise PluginError(
            f'{searched}, and the backend to fetch a published plugin from cannot be used: {redact(str(exc))}',
            {'plugin_code': text},
        ) from exc


def fetch_published(text: str, client: Any) -> Path | None:
    """The local folder of the published plugin ``text`` (``code`` or ``code@version``).

    Returns None when the backend has no plugin (or release) of that code and version.

    Raises:
        PluginError: the backend cannot be reached, or the release has no usable archive.
    """
    code, _, version = text.partition('@')
    try:
        release = _find_release(client, code, version or None)
        if release is None:
            return None
        return _unpacked(client, code, release)
    except NotFoundError:
        return None
    except ClientError as exc:
        raise PluginError(
            f"Cannot fetch plugin '{text}' from {backend_label(client)}: {redact(str(exc))}", {'plugin_code': text}
        ) from exc


def _find_release(client: Any, code: str, version: str | None) -> dict[str, Any] | None:
    if version is not None:
        return client.plugin_releases.get(f'{code}@{version}')
    plugin = client.plugins.get(code)
    releases = client.plugin_releases.list({'plugin': plugin['id']})
    if not releases:
        raise PluginError(
            f"Plugin '{code}' exists on {backend_label(client)} but has no release yet; publish one first",
            {'plugin_code': code},
        )
    return max(releases, key=lambda release: int(release['id']))


def _cache_root(client: Any) -> Path:
    state = os.environ.get('SYNAPSE_STATE_DIR')
    base = Path(state).expanduser() if state else Path.home() / '.synapse' / 'state'
    backend = hashlib.sha256(str(getattr(client, 'base_url', '')).encode()).hexdigest()[:12]
    return base / 'plugins' / backend


def _safe_name(text: str) -> str:
    name = re.sub(r'[^A-Za-z0-9._-]', '_', text)
    return f'_{name}' if set(name) <= {'.'} else name


def _unpacked(client: Any, code: str, release: dict[str, Any]) -> Path:
    version = str(release.get('version') or '0')
    label = f'{code}@{version}'
    url = release.get('file')
    if not url:
        raise PluginError(
            f"Release {label} on {backend_label(client)} has no archive; publish it with the plugin's files",
            {'plugin_code': code},
        )
    folder = _cache_root(client) / _safe_name(code) / _safe_name(version)
    stamp = {'release': release.get('id'), 'file': str(url).split('?')[0], 'created_at': release.get('created_at')}
    cached = _cached_root(folder, stamp)
    if cached is not None and not release.get('debug'):
        return cached
    limit = _limit('download')
    try:
        data = client.data_files.download(url, max_bytes=limit)
    except ResponseTooLargeError:
        raise _over_limit(label, 'download', 'is too large to download', limit) from None
    return _extract(bytes(data), folder, stamp, label)


def _cached_root(folder: Path, stamp: dict[str, Any]) -> Path | None:
    try:
        recorded = json.loads((folder / _STAMP).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get('stamp') != stamp:
        return None
    root = folder / str(recorded.get('root', '.'))
    return root if (root / _CONFIG).is_file() else None


def _extract(data: bytes, folder: Path, stamp: dict[str, Any], label: str) -> Path:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise PluginError(f'The archive of release {label} is not a zip file', {'release': label})
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{folder.name}.', dir=folder.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_size(archive, label)
            _check_members(archive, staging, label)
            archive.extractall(staging)
        root = _plugin_root(staging, label)
        (staging / _STAMP).write_text(json.dumps({'stamp': stamp, 'root': root}), encoding='utf-8')
        _replace_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / root


def _check_size(archive: zipfile.ZipFile, label: str) -> None:
    """The member count and the sum of the members' sizes (what extracting writes) within the limits."""
    members = archive.infolist()
    limit = _limit('members')
    if len(members) > limit:
        raise _over_limit(label, 'members', f'has {len(members)} members', limit)
    unpacked = sum(member.file_size for member in members)  # extraction never writes more than this
    limit = _limit('unpacked')
    if unpacked > limit:
        raise _over_limit(label, 'unpacked', f'unpacks to {unpacked} bytes', limit)


def _check_members(archive: zipfile.ZipFile, staging: Path, label: str) -> None:
    top = staging.resolve()
    for name in archive.namelist():
        if not (top / name).resolve().is_relative_to(top):
            raise PluginError(
                f'The archive of release {label} has a member outside its folder: {name!r}', {'release': label}
            )


def _plugin_root(staging: Path, label: str) -> str:
    """Where config.yaml is: the archive's top level, or its one top-level folder."""
    if (staging / _CONFIG).is_file():
        return '.'
    entries = [p for p in staging.iterdir() if p.name != '__MACOSX']
    if len(entries) == 1 and (entries[0] / _CONFIG).is_file():
        return entries[0].name
    raise PluginError(
        f'The archive of release {label} has no config.yaml at its top level (nor in its one top-level folder)',
        {'release': label},
    )


def _replace_dir(staging: Path, folder: Path) -> None:
    """Swap the freshly unpacked ``staging`` in for ``folder``."""
    old = None
    if folder.exists():
        old = folder.with_name(f'.{folder.name}.old-{os.getpid()}-{id(staging)}')
        folder.rename(old)
    try:
        staging.rename(folder)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
