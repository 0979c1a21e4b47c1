"""Where the embedded local backend keeps its state, and keeping it private (0700 folder, 0600 files)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ['DEFAULT_LOCAL_DIR', 'LocalPaths', 'local_dir', 'write_private_file']

DEFAULT_LOCAL_DIR = Path('~/.synapse/local')


def local_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The state directory: ``path`` → ``$SYNAPSE_LOCAL_DIR`` → ``~/.synapse/local``."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get('SYNAPSE_LOCAL_DIR')
    return Path(env).expanduser() if env else DEFAULT_LOCAL_DIR.expanduser()


@dataclass(frozen=True)
class LocalPaths:
    """The files of one state directory."""

    root: Path

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None = None) -> LocalPaths:
        return cls(local_dir(path))

    @property
    def database(self) -> Path:
        """The SQLite database (WAL mode)."""
        return self.root / 'synapse.db'

    @property
    def storage(self) -> Path:
        """Uploaded and imported files, served under ``files/{id}/``."""
        return self.root / 'storage'

    @property
    def token_file(self) -> Path:
        """The access token of the local user (mode 0600), read by ``create_backend_client()``."""
        return self.root / 'access_token'

    @property
    def agent_token_file(self) -> Path:
        """The local agent's token (mode 0600), read by ``connect_local_agent()``; the database keeps its digest."""
        return self.root / 'agent_token'

    @property
    def review_key_file(self) -> Path:
        """The key of the review pages this backend serves under ``/review/`` (mode 0600)."""
        return self.root / 'review_key'

    @property
    def server_file(self) -> Path:
        """Written by ``synapse local serve``: ``{"url": ..., "pid": ...}`` of the running server."""
        return self.root / 'server.json'

    def ensure(self) -> None:
        """Create the directory if needed and make it private, on every open, however it was made.

        The state root becomes 0700, and ``synapse.db`` with its ``-wal`` and ``-shm`` files 0600 (the
        database is created 0600 before SQLite opens it; SQLite gives its side files the database's mode).
        """
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(self.root, 0o700)
        self.storage.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(self.database, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        for suffix in ('', '-wal', '-shm'):
            _private(self.database.with_name(self.database.name + suffix), 0o600)


def _private(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        return
    except PermissionError as exc:
        raise PermissionError(
            f'{path}: cannot set mode {mode:o} ({exc.strerror}); the local state must be a directory you own '
            '(set SYNAPSE_LOCAL_DIR)'
        ) from None


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` atomically to a file that is mode 0600 before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
