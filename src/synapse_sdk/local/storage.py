"""Files kept in the state directory's storage folder, written atomically."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from synapse_sdk.local.models import DataFile
from synapse_sdk.local.paths import LocalPaths

__all__ = ['file_url', 'remove_stored', 'store_file', 'store_stream']

_CHUNK = 1 << 20


def file_url(base_url: str, file_id: int) -> str:
    return f'{base_url.rstrip("/")}/files/{file_id}/'


def store_stream(paths: LocalPaths, stream: BinaryIO, name: str) -> tuple[str, int, str]:
    """Copy ``stream`` into storage (temp file, then rename); returns (relative path, size, sha256)."""
    folder = uuid.uuid4().hex
    target = paths.storage / folder[:2] / folder / Path(name).name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f'.{target.name}.part')
    digest = hashlib.sha256()
    size = 0
    with open(tmp, 'wb') as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return str(target.relative_to(paths.storage)), size, digest.hexdigest()


def store_file(
    session: Session, paths: LocalPaths, source: BinaryIO, name: str, stored: list[str] | None = None
) -> DataFile:
    """Store bytes and add their ``DataFile`` row to ``session`` (flushed, so it has an id).

    The stored path is appended to ``stored`` before the flush, so a caller whose transaction then
    fails can remove the bytes with :func:`remove_stored`.
    """
    rel, size, checksum = store_stream(paths, source, name)
    if stored is not None:
        stored.append(rel)
    content_type = mimetypes.guess_type(name)[0] or 'application/octet-stream'
    row = DataFile(
        path=rel, file_name_original=Path(name).name, size=size, checksum=checksum, content_type=content_type
    )
    session.add(row)
    session.flush()
    return row


def remove_stored(paths: LocalPaths, rel: str) -> None:
    """Best-effort removal of a stored file whose transaction failed."""
    shutil.rmtree((paths.storage / rel).parent, ignore_errors=True)
