"""``Storage``: one interface over every provider, on universal-pathlib.

Paths are relative to the storage's root (an S3 bucket and prefix, an SFTP directory, a local
folder, an HTTP base URL); ``..`` may not climb above it. Every provider error is re-raised as a
:class:`StorageError` naming the operation and the path, with the storage's credentials masked.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from synapse_sdk.utils.redact import redact
from synapse_sdk.utils.storage.errors import StorageError, StorageNotFoundError, StorageReadOnlyError

if TYPE_CHECKING:
    from upath import UPath

    from synapse_sdk.utils.storage.config import StorageSpec
    from synapse_sdk.utils.storage.providers import Backing

__all__ = ['CHUNK_BYTES', 'Storage']

CHUNK_BYTES = 1 << 20  #: read size of streamed copies and checksums


def relative_target(target: str) -> str:
    """``target`` as a clean relative POSIX path; StorageError when it climbs above the root."""
    parts: list[str] = []
    for part in PurePosixPath(str(target).replace('\\', '/')).parts:
        if part in ('', '.', '/'):
            continue
        if part == '..':
            if not parts:
                raise StorageError(f'path {target!r} climbs above the storage root; use a path inside it')
            parts.pop()
        else:
            parts.append(part)
    return '/'.join(parts)


class Storage:
    """A configured storage: ``upload``, ``exists``, ``get_url``, ``get_pathlib``, listing and reading."""

    def __init__(self, spec: StorageSpec, backing: Backing) -> None:
        self.spec = spec
        self.provider: str = spec.provider
        self._backing = backing
        self._secrets = spec.configuration.secrets()

    def __repr__(self) -> str:
        return f'Storage(provider={self.provider!r}, root={self._backing.url_base!r})'

    # ------------------------------------------------------------------ paths
    @property
    def root(self) -> UPath:
        return self._backing.root

    @property
    def writable(self) -> bool:
        return self._backing.writable

    def get_pathlib(self, path: str = '') -> UPath:
        """The :class:`~upath.UPath` of ``path`` under the root (carries the provider's options)."""
        rel = relative_target(path)
        return self.root / rel if rel else self.root

    def relative(self, path: UPath) -> str:
        """``path`` (from :meth:`glob` / :meth:`iterdir`) relative to the root, as a POSIX string."""
        root = self.root.path.rstrip('/')
        full = path.path
        if full == root:
            return ''
        if root and not full.startswith(root + '/'):
            raise StorageError(f'{full!r} is not under the storage root')
        return full[len(root) + 1 :] if root else full.lstrip('/')

    def get_url(self, target: str) -> str:
        """A credential-free URL of ``target`` (for S3/GCS, readable only where the bucket allows it)."""
        return self._backing.url_base + quote(relative_target(target))

    def sign_url(self, target: str, expires: int = 3600) -> str:
        """A presigned URL of ``target`` valid ``expires`` seconds (S3, GCS); other providers: :meth:`get_url`.

        The URL carries a signature, not the secret key; still, treat it as a credential while it is valid.
        """
        if self.provider not in ('s3', 'gcs'):
            return self.get_url(target)
        with self._guard('sign', target):
            return str(self.root.fs.sign(self.get_pathlib(target).path, expiration=expires))

    # ------------------------------------------------------------------ errors
    @contextmanager
    def _guard(self, operation: str, target: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except FileNotFoundError:
            raise StorageNotFoundError(f'{self.provider} storage: {target!r} not found ({operation})') from None
        except Exception as exc:  # every provider has its own errors: name the operation, hide secrets
            detail = redact(f'{type(exc).__name__}: {exc}', self._secrets)
            raise StorageError(f'{self.provider} storage: {operation} {target!r} failed: {detail}') from None

    # ------------------------------------------------------------------ queries
    def exists(self, target: str) -> bool:
        with self._guard('exists', target):
            return bool(self.get_pathlib(target).exists())

    def is_file(self, target: str) -> bool:
        with self._guard('is_file', target):
            return bool(self.get_pathlib(target).is_file())

    def size(self, target: str) -> int:
        with self._guard('stat', target):
            return int(self.get_pathlib(target).stat().st_size)

    def iterdir(self, path: str = '') -> Iterator[UPath]:
        """The entries directly in ``path`` (files and folders)."""
        with self._guard('list', path):
            entries = list(self.get_pathlib(path).iterdir())
        yield from entries

    def glob(self, pattern: str, path: str = '') -> Iterator[UPath]:
        """Files and folders under ``path`` matching ``pattern`` (``**`` spans folders)."""
        with self._guard('glob', f'{path}/{pattern}' if path else pattern):
            found = list(self.get_pathlib(path).glob(pattern))
        yield from found

    def files(self, path: str = '', *, recursive: bool = False) -> list[str]:
        """Relative paths of the files in ``path`` (and below with ``recursive``), sorted."""
        with self._guard('list', path):
            base = self.get_pathlib(path)
            entries = base.glob('**/*') if recursive else base.iterdir()
            return sorted(self.relative(p) for p in entries if p.is_file())

    # ------------------------------------------------------------------ reading
    @contextmanager
    def open(self, target: str, mode: str = 'rb') -> Iterator[IO[Any]]:
        """Open ``target``; writing modes are refused on read-only providers."""
        if any(c in mode for c in 'wax+') and not self.writable:
            raise StorageReadOnlyError(f'{self.provider} storage is read-only: cannot open {target!r} for writing')
        with self._guard('open', target):
            fh = self.get_pathlib(target).open(mode)
        try:
            yield fh
        finally:
            fh.close()

    def read_bytes(self, target: str) -> bytes:
        with self._guard('read', target):
            return bytes(self.get_pathlib(target).read_bytes())

    def checksum(self, target: str) -> tuple[str, int]:
        """SHA-256 hex digest and size of ``target``, streamed in chunks."""
        digest, size = hashlib.sha256(), 0
        with self.open(target, 'rb') as fh, self._guard('read', target):
            while chunk := fh.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    # ------------------------------------------------------------------ writing
    def upload(self, source: Path, target: str) -> str:
        """Copy the local file ``source`` to ``target`` (streamed); returns :meth:`get_url` of it."""
        source = Path(source)
        if not self.writable:
            raise StorageReadOnlyError(f'{self.provider} storage is read-only: cannot upload to {target!r}')
        if not source.is_file():
            raise StorageError(f'upload source {str(source)!r} is not a file')
        rel = relative_target(target)
        if not rel:
            raise StorageError('upload target is empty: name the file, e.g. upload(path, "folder/file.jpg")')
        dest = self.get_pathlib(rel)
        with self._guard('upload to', rel):
            if self._backing.needs_dirs:
                dest.parent.mkdir(parents=True, exist_ok=True)
            with source.open('rb') as src, dest.open('wb') as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
        return self.get_url(rel)

    def delete(self, target: str) -> None:
        if not self.writable:
            raise StorageReadOnlyError(f'{self.provider} storage is read-only: cannot delete {target!r}')
        with self._guard('delete', target):
            self.get_pathlib(target).unlink()
