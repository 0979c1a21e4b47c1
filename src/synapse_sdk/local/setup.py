"""Creating a state directory: database, first token, the local agent and storage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from synapse_sdk.local.auth import TOKEN_KINDS, issue_token
from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken, Agent, Storage
from synapse_sdk.local.paths import LocalPaths

__all__ = [
    'InitResult',
    'TokenInfo',
    'create_token',
    'init_local',
    'list_tokens',
    'open_database',
    'read_local_token',
    'write_private_file',
]


@dataclass(frozen=True)
class InitResult:
    paths: LocalPaths
    #: the new access token, or None when the directory was already initialised
    token: str | None


def open_database(paths: LocalPaths) -> Database:
    """Open (creating tables if needed) the database of a state directory."""
    paths.ensure()
    db = Database(paths.database)
    db.create_schema()
    return db


def init_local(path: str | os.PathLike[str] | None = None, *, new_token: bool = False) -> InitResult:
    """Initialise a state directory; never destroys data. Issues a token on first run (or when asked).

    The access token is stored hashed in the database and, in plain text, in ``access_token``
    (mode 0600 from creation, in a 0700 directory): that file is what lets clients on this machine
    reach the local backend with no configuration.
    """
    paths = LocalPaths.resolve(path)
    db = open_database(paths)
    try:
        token = None
        if new_token or not paths.token_file.exists():
            token = issue_token(db, 'access', name='local')
            write_private_file(paths.token_file, token)
        _ensure_defaults(db, paths)
    finally:
        db.dispose()
    return InitResult(paths, token)


@dataclass(frozen=True)
class TokenInfo:
    """A token's record; the token itself is never kept, only its SHA-256 digest."""

    id: int
    kind: str
    name: str
    created_at: datetime


def create_token(kind: str = 'user', name: str = '', path: str | os.PathLike[str] | None = None) -> str:
    """Issue a token of ``kind`` (``access`` or ``user``) and return it; only its digest is stored.

    A user token is sent as ``Authorization: Token <token>`` (``BackendClient(user_token=...)``),
    an access token as ``Synapse-Access-Token: Token <token>``. Neither is written to any file.
    """
    if kind not in TOKEN_KINDS:
        raise ValueError(f"Unknown token kind '{kind}'; expected one of: {', '.join(TOKEN_KINDS)}")
    paths = LocalPaths.resolve(path)
    if not paths.database.exists():
        init_local(paths.root)
    db = open_database(paths)
    try:
        return issue_token(db, kind, name=name)
    finally:
        db.dispose()


def list_tokens(path: str | os.PathLike[str] | None = None) -> list[TokenInfo]:
    """The issued tokens' records, oldest first."""
    db = open_database(LocalPaths.resolve(path))
    try:
        with db.read() as session:
            rows = session.scalars(select(AccessToken).order_by(AccessToken.id)).all()
            return [TokenInfo(row.id, row.kind, row.name, row.created_at) for row in rows]
    finally:
        db.dispose()


def read_local_token(paths: LocalPaths) -> str | None:
    try:
        return paths.token_file.read_text().strip() or None
    except FileNotFoundError:
        return None


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


def _ensure_defaults(db: Database, paths: LocalPaths) -> None:
    import secrets

    with db.write() as session:
        if session.scalar(select(Agent.id).limit(1)) is None:
            session.add(Agent(name='local', url=None, token=secrets.token_urlsafe(24)))
        if session.scalar(select(Storage.id).limit(1)) is None:
            session.add(Storage(name='local', provider='file_system', configuration={'location': str(paths.storage)}))
