"""A model's artefacts on disk: downloaded once from the backend's ``models/``, extracted safely, cached.

A model record (``models/{id}/``) names one file: an archive of the artefacts (a ``.zip``) or a single
file. :func:`fetch_model` downloads it (streamed, size-limited), extracts a zip refusing absolute,
``..`` and link members and capping member count, total size and expansion ratio, and keeps the result
in a cache folder named by the model's identity, so every later load of the same model (another
replica, another run) reuses it. Work is done in a scratch folder and moved into place at the end, so a
failed download or extraction leaves nothing half-written in the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from synapse_sdk.exceptions import ExecutionError

__all__ = ['MAX_MODEL_BYTES', 'fetch_model', 'model_cache_root']

MAX_MODEL_BYTES = 8 << 30  #: the largest model file downloaded (8 GiB)
MAX_MEMBERS = 10_000
MAX_EXPANDED_BYTES = 16 << 30
MAX_RATIO = 200  #: uncompressed / compressed size of a whole archive
_LOCK = threading.Lock()


def model_cache_root() -> Path:
    """``$SYNAPSE_STATE_DIR/models`` (default ``~/.synapse/state/models``)."""
    state = os.environ.get('SYNAPSE_STATE_DIR') or str(Path.home() / '.synapse' / 'state')
    return Path(state) / 'models'


def fetch_model(client: Any, model_id: int | str, cache_root: Path | None = None) -> dict[str, Any]:
    """The model's record with ``path``: the folder holding its extracted artefacts (downloaded on first use)."""
    info = client.get_model(model_id)
    if not isinstance(info, dict):
        raise ExecutionError(f'Model {model_id}: the backend answered no model record')
    file_url = info.get('file')
    if not file_url:
        raise ExecutionError(f'Model {model_id} has no file: upload its artefacts (synapse_sdk create_model)')
    identity = getattr(client, 'backend_identity', None)
    where = identity() if callable(identity) else str(getattr(client, 'base_url', ''))
    key = hashlib.sha256(f'{where}|{model_id}|{urlsplit(str(file_url)).path}'.encode()).hexdigest()[:32]
    folder = (cache_root or model_cache_root()) / key
    with _LOCK:
        if not (folder / '.complete').exists():
            _download_into(client, str(file_url), folder, model_id)
    return {**info, 'path': folder / 'files'}


def _download_into(client: Any, url: str, folder: Path, model_id: int | str) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix='.part-', dir=folder.parent))
    try:
        name = PurePosixPath(unquote(urlsplit(url).path)).name or 'model'
        download = scratch / 'download'
        client.download_to_file(url, download, max_bytes=MAX_MODEL_BYTES)
        files = scratch / 'files'
        files.mkdir()
        if zipfile.is_zipfile(download):
            _extract(download, files, model_id)
        else:
            download.rename(files / _safe_name(name))
        (scratch / '.complete').write_text('ok')
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _safe_name(name: str) -> str:
    return name if name not in ('', '.', '..') and '/' not in name else 'model'


def _extract(archive: Path, dest: Path, model_id: int | str) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ExecutionError(f'Model {model_id}: its archive has {len(members)} members (at most {MAX_MEMBERS})')
        total = sum(m.file_size for m in members)
        compressed = max(1, archive.stat().st_size)
        if total > MAX_EXPANDED_BYTES or total / compressed > MAX_RATIO:
            raise ExecutionError(
                f'Model {model_id}: its archive expands to {total} bytes from {compressed} '
                f'(at most {MAX_EXPANDED_BYTES} bytes and {MAX_RATIO}x): refused as a possible zip bomb'
            )
        for info in members:
            path = PurePosixPath(info.filename)
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if path.is_absolute() or '..' in path.parts or is_link or '\\' in info.filename:
                raise ExecutionError(
                    f"Model {model_id}: unsafe member '{info.filename}' in its archive (absolute, '..' or a "
                    'link): nothing was extracted'
                )
        for info in members:
            zf.extract(info, dest)
