"""Creating a state directory: database, first token, the local agent and storage.

Every open makes the directory private again (0700, the database files 0600) and migrates agent
tokens kept in plain text by older versions to digests (:mod:`synapse_sdk.local._agent_token`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from synapse_sdk.local._agent_token import migrate_agent_tokens, new_agent_token
from synapse_sdk.local.auth import READ_ONLY, TOKEN_KINDS, forget_tokens, hash_token, issue_token
from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken, Agent, Instance, Storage, TokenScope
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
    'revoke_token',
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
    read_only: bool = False


def create_token(
    kind: str = 'user', name: str = '', path: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> str:
    """Issue a token of ``kind`` (``access`` or ``user``) and return it; only its digest is stored.

    A user token is sent as ``Authorization: Token <token>`` (``BackendClient(user_token=...)``),
    an access token as ``Synapse-Access-Token: Token <token>``. Neither is written to any file.
    A ``read_only`` token may GET and HEAD only (to share a review): writes get 403.
    """
    if kind not in TOKEN_KINDS:
        raise ValueError(f"Unknown token kind '{kind}'; expected one of: {', '.join(TOKEN_KINDS)}")
    paths = LocalPaths.resolve(path)
    if not paths.database.exists():
        init_local(paths.root)
    db = open_database(paths)
    try:
        return issue_token(db, kind, name=name, read_only=read_only)
    finally:
        db.dispose()


def list_tokens(path: str | os.PathLike[str] | None = None) -> list[TokenInfo]:
    """The issued tokens' records, oldest first."""
    db = open_database(LocalPaths.resolve(path))
    try:
        with db.read() as session:
            rows = session.execute(
                select(AccessToken, TokenScope.scope)
                .outerjoin(TokenScope, TokenScope.token_id == AccessToken.id)
                .order_by(AccessToken.id)
            ).all()
            return [_info(row, scope) for row, scope in rows]
    finally:
        db.dispose()


def _info(row: AccessToken, scope: str | None) -> TokenInfo:
    return TokenInfo(row.id, row.kind, row.name, row.created_at, read_only=scope == READ_ONLY)


def revoke_token(ref: str, path: str | os.PathLike[str] | None = None) -> TokenInfo:
    """Delete the token whose id (digits) or name is ``ref``; it stops working at once in this process.

    Servers in other processes re-check accepted tokens within ``DEFAULT_TOKEN_CACHE_SECONDS``. A name
    that several tokens share is refused (revoke by id). Revoking the token kept in ``access_token``
    also removes that file, so that the next local client gets a new token.
    """
    ref = ref.strip()
    paths = LocalPaths.resolve(path)
    if not paths.database.exists():
        raise ValueError(f'No local backend in {paths.root}: nothing to revoke (run `synapse local init`)')
    db = open_database(paths)
    try:
        with db.write() as session:
            wanted = AccessToken.id == int(ref) if ref.isdigit() else AccessToken.name == ref
            rows = session.execute(
                select(AccessToken, TokenScope.scope)
                .outerjoin(TokenScope, TokenScope.token_id == AccessToken.id)
                .where(wanted)
                .order_by(AccessToken.id)
            ).all()
            if not rows:
                listed = session.scalars(select(AccessToken).order_by(AccessToken.id).limit(20))
                known = ', '.join(f'{r.id} ({r.name or "unnamed"})' for r in listed)
                raise ValueError(f"No token with id or name '{ref}'; tokens: {known or 'none'}")
            if len(rows) > 1:
                ids = ', '.join(str(row.id) for row, _scope in rows)
                raise ValueError(f"Several tokens are named '{ref}' (ids {ids}): revoke one by its id")
            row, scope = rows[0]
            info, digest = _info(row, scope), row.digest
            session.execute(delete(TokenScope).where(TokenScope.token_id == row.id))
            session.delete(row)
    finally:
        db.dispose()
    forget_tokens(paths.database, {digest})
    local = read_local_token(paths)
    if local is not None and hash_token(local) == digest:
        paths.token_file.unlink(missing_ok=True)
    return info


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
