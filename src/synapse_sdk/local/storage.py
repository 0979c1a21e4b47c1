"""Files kept in the state directory's storage folder, written atomically, and the links that serve them."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from synapse_sdk.local.models import DataFile
from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.presign import presigned_query

__all__ = [
    'MAX_NAME_BYTES',
    'FileLinks',
    'UnsafeFileName',
    'file_url',
    'remove_stored',
    'safe_file_name',
    'store_file',
    'store_stream',
]

_CHUNK = 1 << 20

#: The longest file name most file systems store (ext4, APFS, NTFS: 255).
MAX_NAME_BYTES = 255


def file_url(base_url: str, file_id: int) -> str:
    """The link that needs a token header."""
    return f'{base_url.rstrip("/")}/files/{file_id}/'


@dataclass(frozen=True)
class FileLinks:
    """How one response links files: presigned (``key`` set) with one expiry, or plain."""

    base_url: str
    key: bytes | None = None
    expires: int = 0

    def url(self, file_id: int) -> str:
        plain = file_url(self.base_url, file_id)
        return plain if self.key is None else f'{plain}?{presigned_query(self.key, file_id, self.expires)}'


class UnsafeFileName(ValueError):
    """An upload's name that cannot name a stored file; the message says why and what to send."""


def safe_file_name(name: str) -> str:
    """The last component of ``name`` (``/`` or ``\\`` separated), refused when no file can have it."""
    base = name.replace('\\', '/').rsplit('/', 1)[-1]
    shown = name if len(name) <= 60 else f'{name[:57]}...'
    if base in ('', '.', '..'):
        raise UnsafeFileName(f"'{shown}' is not a file name: send the file's own name, e.g. 'image.jpg'")
    if any(unicodedata.category(char) in ('Cc', 'Cs') for char in base):
        raise UnsafeFileName(f'{shown!r} contains control characters or lone surrogates: send a name without them')
    size = len(base.encode())
    if size > MAX_NAME_BYTES:
        raise UnsafeFileName(
            f'the name is {size} bytes long (UTF-8); a file name may have at most {MAX_NAME_BYTES}: send a shorter one'
        )
    return base


def store_stream(paths: LocalPaths, stream: BinaryIO, name: str) -> tuple[str, int, str]:
    """Copy ``stream`` into storage (temp file, then rename); returns (relative path, size, sha256).

    Raises :class:`UnsafeFileName` for a name no file can have; whatever fails, nothing is left behind.
    """
    base = safe_file_name(name)
    folder = uuid.uuid4().hex
    home = paths.storage / folder[:2] / folder
    target = home / base
    tmp = home / f'.{base}.part' if len(base.encode()) < MAX_NAME_BYTES - 6 else home / '.upload.part'
    digest = hashlib.sha256()
    size = 0
    home.mkdir(parents=True)  # a new folder of this upload's own
    try:
        with open(tmp, 'wb') as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)  # this upload's own folder: the .part file goes with it
        raise
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
    base = Path(rel).name
    content_type = mimetypes.guess_type(base)[0] or 'application/octet-stream'
    row = DataFile(path=rel, file_name_original=base, size=size, checksum=checksum, content_type=content_type)
    session.add(row)
    session.flush()
    return row


def remove_stored(paths: LocalPaths, rel: str) -> None:
    """Best-effort removal of a stored file whose transaction failed."""
    shutil.rmtree((paths.storage / rel).parent, ignore_errors=True)
