"""Access tokens: issued once, stored as SHA-256 digests, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
import threading

from sqlalchemy import select

from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken

__all__ = ['TOKEN_KINDS', 'TokenVerifier', 'hash_token', 'issue_token', 'parse_auth_headers']

#: ``access``: sent as ``Synapse-Access-Token: Token <t>``; ``user``: as ``Authorization: Token <t>``.
TOKEN_KINDS = ('access', 'user')


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Database, kind: str = 'access', name: str = '') -> str:
    """Create a token, store only its digest and return the token (shown once)."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"Unknown token kind '{kind}'; expected one of: {', '.join(TOKEN_KINDS)}")
    token = secrets.token_urlsafe(32)
    with db.write() as session:
        session.add(AccessToken(kind=kind, digest=hash_token(token), name=name))
    return token


def parse_auth_headers(access_header: str | None, authorization: str | None) -> tuple[str, str] | None:
    """``(kind, token)`` from the request headers, or None when neither carries ``Token <t>``."""
    for kind, value in (('access', access_header), ('user', authorization)):
        if value:
            scheme, _, token = value.strip().partition(' ')
            if scheme.lower() == 'token' and token.strip():
                return kind, token.strip()
    return None


class TokenVerifier:
    """Checks tokens against the database, remembering the digests it has already accepted."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def verify(self, kind: str, token: str) -> bool:
        key = (kind, hash_token(token))
        if key in self._known:
            return True
        with self._db.read() as session:
            found = session.scalar(select(AccessToken.id).where(AccessToken.kind == kind, AccessToken.digest == key[1]))
        if found is None:
            return False
        with self._lock:
            self._known.add(key)
        return True
