"""Creating a state directory: database, first token, the local agent and storage.

Every open makes the directory private again (0700, the database files 0600) and migrates agent
tokens kept in plain text by older versions to digests (:mod:`synapse_sdk.local._agent_token`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from synapse_sdk.local._agent_token import migrate_agent_tokens, new_agent_token
from synapse_sdk.local.auth import TOKEN_KINDS, issue_token
from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken, Agent, Instance, Storage
from synapse_sdk.local.paths import LocalPaths, write_private_file

__all__ = [
    'InitResult',
    'TokenInfo',
    'create_token',
    'ensure_instance',
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
    """Open (creating tables if needed) the database of a state directory, made private (0700 / 0600)."""
    paths.ensure()
    db = Database(paths.database)
    try:
        db.create_schema()
        migrate_agent_tokens(db, paths)
        ensure_instance(db)
    except BaseException:
        db.dispose()
        raise
    return db


def ensure_instance(db: Database) -> str:
    """This database's instance id (a UUID), made the first time the database is opened."""
    with db.read() as session:
        found = session.scalar(select(Instance.uuid).limit(1))
    if found is not None:
        return found
    with db.write() as session:  # two processes may race here: the first row wins
        found = session.scalar(select(Instance.uuid).limit(1))
        if found is None:
            found = str(uuid.uuid4())
            session.add(Instance(id=1, uuid=found))
    return found


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


def _ensure_defaults(db: Database, paths: LocalPaths) -> None:
    with db.write() as session:
        if session.scalar(select(Agent.id).limit(1)) is None:
            token, digest = new_agent_token()
            session.add(Agent(name='local', url=None, token_digest=digest))
            write_private_file(paths.agent_token_file, token)  # the only copy (connect_local_agent reads it)
        if session.scalar(select(Storage.id).limit(1)) is None:
            session.add(Storage(name='local', provider='file_system', configuration={'location': str(paths.storage)}))
