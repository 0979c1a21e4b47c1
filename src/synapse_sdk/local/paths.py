"""Where the embedded local backend keeps its state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ['DEFAULT_LOCAL_DIR', 'LocalPaths', 'local_dir']

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
    def server_file(self) -> Path:
        """Written by ``synapse local serve``: ``{"url": ..., "pid": ...}`` of the running server."""
        return self.root / 'server.json'

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.storage.mkdir(parents=True, exist_ok=True)
