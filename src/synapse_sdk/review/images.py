"""A task's primary image for the page: fetched once through the backend client, kept in the run folder.

The browser never fetches a file URL itself: the review server downloads it with the backend client
(auth headers go only to the backend's own host; a presigned URL works on its own) into
``<run folder>/images/<task id>``, and serves it from there. A stored URL that no longer works (a
presigned link past its expiry) is replaced by the one the backend hands out now for the task.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from synapse_sdk.exceptions import ClientError, SynapseError
from synapse_sdk.plugins.actions.to_task.files import normalise_files
from synapse_sdk.plugins.actions.to_task.record import RunRecord

__all__ = ['MAX_IMAGE_BYTES', 'ImageClient', 'ImageUnavailableError', 'cached_image', 'media_type']

MAX_IMAGE_BYTES = 64 << 20  #: a larger primary file is not shown (64 MiB)

_MAGIC = (
    (b'\x89PNG\r\n\x1a\n', 'image/png'),
    (b'\xff\xd8', 'image/jpeg'),
    (b'GIF87a', 'image/gif'),
    (b'GIF89a', 'image/gif'),
    (b'BM', 'image/bmp'),
)
_STALE = (403, 404, 410)  #: a stored link that gets one of these is asked for again


class ImageClient(Protocol):
    """What the image cache needs of a backend client."""

    def download_to_file(self, url: str, dest: str | Path, *, max_bytes: int | None = None) -> int: ...

    def get_task(self, task_id: int, params: Mapping[str, Any] | None = None) -> Any: ...


class ImageUnavailableError(SynapseError):
    """The task has no primary image the page can show (the reason is the message)."""


def media_type(path: Path) -> str | None:
    """The image type of the file from its first bytes, or None when it is not an image a browser shows."""
    with open(path, 'rb') as fh:
        head = fh.read(16)
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'image/webp'
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _fresh_url(client: ImageClient, task_id: int) -> str | None:
    task = client.get_task(task_id, {'fields': 'id,data_unit', 'expand': 'data_unit'})
    unit = task.get('data_unit') if isinstance(task, dict) else None
    files = normalise_files(unit.get('files') if isinstance(unit, dict) else None)
    primary = next((f for f in files if f.get('is_primary') and f.get('url')), None)
    return None if primary is None else str(primary['url'])


def _download(client: ImageClient, url: str, dest: Path) -> None:
    part = dest.with_name(f'.{dest.name}.{secrets.token_hex(4)}.part')
    try:
        client.download_to_file(url, part, max_bytes=MAX_IMAGE_BYTES)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _fetch(client: ImageClient, task_id: int, url: Any, dest: Path) -> None:
    """Download from the stored ``url``; when it is gone or refused, from the URL the task has now."""
    if url:
        try:
            _download(client, str(url), dest)
            return
        except ClientError as exc:
            if exc.status_code not in _STALE:
                raise
    fresh = _fresh_url(client, task_id)
    if fresh is None:
        raise ImageUnavailableError(f'Task {task_id} has no primary file with a URL')
    _download(client, fresh, dest)


def cached_image(record: RunRecord, client: ImageClient, task_id: int) -> tuple[Path, str]:
    """``(path, media type)`` of task ``task_id``'s primary image, downloading it on first use."""
    folder = record.folder / 'images'
    dest = folder / str(task_id)
    if not dest.is_file():
        entry = record.entry(task_id)
        if entry is None:
            raise ImageUnavailableError(f'Task {task_id} is not part of run {record.run_id}')
        folder.mkdir(mode=0o700, exist_ok=True)
        _fetch(client, task_id, (entry.image or {}).get('url'), dest)
    kind = media_type(dest)
    if kind is None:
        raise ImageUnavailableError(f'The primary file of task {task_id} is not an image a browser can show')
    return dest, kind
