"""Agent tokens: the database keeps only their SHA-256 digests; the local agent's token lives in a 0600 file.

A platform agent's token is shown once, when ``POST agents/`` creates the agent. The local agent (the
backend itself, no URL of its own) is reached by ``connect_local_agent()``, which reads its token from
``<state dir>/agent_token`` (written like ``access_token``: mode 0600 before a byte, in the 0700 folder).

Databases made before digests were kept hold agent tokens in plain text: :func:`migrate_agent_tokens`
(run on every open) replaces each by its digest, writing the local agent's to its file first.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from synapse_sdk.local.auth import hash_token
from synapse_sdk.local.db import Database
from synapse_sdk.local.models import Agent
from synapse_sdk.local.paths import LocalPaths, write_private_file

__all__ = ['is_digest', 'local_agent_token', 'migrate_agent_tokens', 'new_agent_token']

_DIGEST = re.compile(r'^[0-9a-f]{64}$')  # what hash_token() gives; a token_urlsafe(24) token never matches
#: the local agent: the backend itself, with no URL of its own (the first such row)
_LOCAL_AGENT = select(Agent).where(Agent.url.is_(None)).order_by(Agent.id).limit(1)


def is_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def new_agent_token() -> tuple[str, str]:
    """``(token, digest)`` of a fresh agent token."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def migrate_agent_tokens(db: Database, paths: LocalPaths) -> None:
    """Replace every agent token kept in plain text by its digest (the local agent's goes to its file)."""
    with db.read() as session:
        if all(is_digest(value) for value in session.scalars(select(Agent.token_digest))):
            return
    with db.write() as session:
        for row in session.scalars(select(Agent).order_by(Agent.id)):
            if is_digest(row.token_digest):
                continue
            if row.url is None and not paths.agent_token_file.exists():
                write_private_file(paths.agent_token_file, row.token_digest)
            row.token_digest = hash_token(row.token_digest)


def local_agent_token(db: Database, paths: LocalPaths) -> str | None:
    """The local agent's token, from its file; a new one when the file is missing or stale. None: no local agent.

    The file is the only place the token exists, so when it is gone (or holds another token) a new one
    is issued, and the old one stops working.
    """
    with db.read() as session:
        digest = session.scalar(_LOCAL_AGENT.with_only_columns(Agent.token_digest))
    if digest is None:
        return None
    token = _read_token_file(paths)
    if token and secrets.compare_digest(hash_token(token), digest):
        return token
    with db.write() as session:  # BEGIN IMMEDIATE: one process at a time re-checks and replaces the token
        row = session.scalar(_LOCAL_AGENT)
        if row is None:
            return None
        token = _read_token_file(paths)
        if token and secrets.compare_digest(hash_token(token), row.token_digest):
            return token  # another process has just replaced it
        token, row.token_digest = new_agent_token()
        write_private_file(paths.agent_token_file, token)
    return token


def _read_token_file(paths: LocalPaths) -> str:
    try:
        return paths.agent_token_file.read_text(encoding='utf-8').strip()
    except FileNotFoundError:
        return ''
