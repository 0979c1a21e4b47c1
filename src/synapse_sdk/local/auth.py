"""Tokens (issued once, stored as SHA-256 digests) and the gate that checks one on every request.

Backend paths take ``Synapse-Access-Token: Token <access token>`` or ``Authorization: Token <user
token>``; the local agent's paths (``/agent/...``) take ``Authorization: <agent token>``, as on the
platform. A request without a valid token gets 401 before any route runs; a read-only token (``synapse
local token create --read-only``) gets 403 on any method but GET, HEAD and OPTIONS.

Accepted tokens are remembered for :data:`DEFAULT_TOKEN_CACHE_SECONDS` at most, so a token revoked by
another process stops working within that time; :func:`forget_tokens` (called by ``revoke_token``) makes
every verifier of this process forget one at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken, Agent, TokenScope

__all__ = [
    'AGENT_PREFIX',
    'DEFAULT_TOKEN_CACHE_SECONDS',
    'OPEN_PATHS',
    'READ_METHODS',
    'READ_ONLY',
    'TOKEN_KINDS',
    'AuthGate',
    'Grant',
    'TokenVerifier',
    'forget_tokens',
    'hash_token',
    'issue_token',
    'parse_auth_headers',
]

#: ``access``: sent as ``Synapse-Access-Token: Token <t>``; ``user``: as ``Authorization: Token <t>``.
TOKEN_KINDS = ('access', 'user')

#: Where the local backend serves its own agent's API (the agent's base URL is ``<backend>/agent/``).
AGENT_PREFIX = '/agent/'

#: Liveness probes answer without a token.
OPEN_PATHS = frozenset({'/health/', f'{AGENT_PREFIX}health/'})
REVIEW_PREFIX = '/review/'  #: ToTask review pages: guarded by the review key (``<state dir>/review_key``)

#: How long an accepted token is taken on trust before the database is asked again.
DEFAULT_TOKEN_CACHE_SECONDS = 2.0

#: The scope of a read-only token (``token_scopes.scope``), and the methods it may use.
READ_ONLY = 'read'
READ_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Database, kind: str = 'access', name: str = '', *, read_only: bool = False) -> str:
    """Create a token, store only its digest and return the token (shown once).

    A ``read_only`` token may only read (GET, HEAD): any other method gets 403.
    """
    if kind not in TOKEN_KINDS:
        raise ValueError(f"Unknown token kind '{kind}'; expected one of: {', '.join(TOKEN_KINDS)}")
    token = secrets.token_urlsafe(32)
    with db.write() as session:
        row = AccessToken(kind=kind, digest=hash_token(token), name=name)
        session.add(row)
        if read_only:
            session.flush()
            session.add(TokenScope(token_id=row.id, scope=READ_ONLY))
    return token


def parse_auth_headers(access_header: str | None, authorization: str | None) -> tuple[str, str] | None:
    """``(kind, token)`` from the request headers, or None when neither carries ``Token <t>``."""
    for kind, value in (('access', access_header), ('user', authorization)):
        if value:
            scheme, _, token = value.strip().partition(' ')
            if scheme.lower() == 'token' and token.strip():
                return kind, token.strip()
    return None


@dataclass(frozen=True)
class Grant:
    """What an accepted token may do."""

    read_only: bool = False


_FULL = Grant()
#: every verifier of this process, so that a revocation here reaches them all at once
_VERIFIERS: weakref.WeakSet[TokenVerifier] = weakref.WeakSet()


def forget_tokens(database: Path, digests: Collection[str] | None = None) -> None:
    """Make every verifier of this process over ``database`` re-check ``digests`` (all tokens: None) now."""
    target = database.resolve()
    for verifier in list(_VERIFIERS):
        if verifier.database == target:
            verifier.forget(digests)


class TokenVerifier:
    """Checks tokens against the database, remembering accepted ones for ``cache_seconds`` at most."""

    def __init__(self, db: Database, *, cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS) -> None:
        self._db = db
        self.database = db.path.resolve()
        self.cache_seconds = cache_seconds
        self._known: dict[tuple[str, str], tuple[float, Grant]] = {}
        self._lock = threading.Lock()
        _VERIFIERS.add(self)

    def verify(self, kind: str, token: str) -> bool:
        return self.grant(kind, token) is not None

    def grant(self, kind: str, token: str) -> Grant | None:
        """What ``token`` (of ``kind``) may do, or None when it is not a valid token."""
        key = (kind, hash_token(token))
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self._db.read() as session:
            row = session.execute(
                select(AccessToken.id, TokenScope.scope)
                .outerjoin(TokenScope, TokenScope.token_id == AccessToken.id)
                .where(AccessToken.kind == kind, AccessToken.digest == key[1])
            ).first()
        if row is None:
            return None
        return self._remember(key, Grant(read_only=row.scope == READ_ONLY))

    def verify_agent(self, token: str) -> bool:
        """Whether ``token`` is the token of this backend's own agent (the one without a URL of its own).

        Only digests are stored; the token's digest is compared with each in constant time.
        """
        key = ('agent', hash_token(token))
        if self._cached(key) is not None:
            return True
        with self._db.read() as session:
            digests = session.scalars(select(Agent.token_digest).where(Agent.url.is_(None))).all()
        found = False
        for digest in digests:
            found |= hmac.compare_digest(digest.encode(), key[1].encode())
        return found and self._remember(key, _FULL) is not None

    def forget(self, digests: Collection[str] | None = None) -> None:
        """Drop the remembered acceptance of ``digests`` (of every token: None)."""
        with self._lock:
            if digests is None:
                self._known.clear()
            else:
                for key in [key for key in self._known if key[1] in digests]:
                    del self._known[key]

    def _cached(self, key: tuple[str, str]) -> Grant | None:
        with self._lock:
            entry = self._known.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._known[key]
                return None
            return entry[1]

    def _remember(self, key: tuple[str, str], grant: Grant) -> Grant:
        if self.cache_seconds > 0:
            with self._lock:
                self._known[key] = (time.monotonic() + self.cache_seconds, grant)
        return grant


def _presigned_download(scope: dict[str, Any]) -> bool:
    """A GET of ``/files/{id}/`` with a ``signature`` (a presigned link): its route checks the signature
    (:mod:`synapse_sdk.local.presign`) and answers 403 when it is bad, so no token is asked for here."""
    path = scope['path']
    return (
        scope.get('method') in ('GET', 'HEAD')
        and path.startswith('/files/')
        and path.count('/') == 3
        and any(part.startswith(b'signature=') for part in (scope.get('query_string') or b'').split(b'&'))
    )


class AuthGate:
    """ASGI middleware: 401 ``{"detail": ...}`` unless the request carries a valid token for its path;
    403 for a write with a read-only token."""

    def __init__(self, app: Any, verifier: TokenVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope['type'] == 'http'
            and scope['path'] not in OPEN_PATHS
            and not scope['path'].startswith(REVIEW_PREFIX)  # the review routes check their own key
            and not _presigned_download(scope)
        ):
            problem = self._problem(scope)
            if problem is not None:
                await _refuse(send, *problem)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        headers = {k: v for k, v in scope.get('headers') or () if k in (b'synapse-access-token', b'authorization')}
        access = headers.get(b'synapse-access-token', b'').decode('latin-1') or None
        authorization = headers.get(b'authorization', b'').decode('latin-1') or None
        if scope['path'].startswith(AGENT_PREFIX):
            if not authorization:
                return 401, 'Authentication credentials were not provided.'
            return None if self.verifier.verify_agent(authorization.strip()) else (401, 'Invalid agent token.')
        parsed = parse_auth_headers(access, authorization)
        if parsed is None:
            return 401, 'Authentication credentials were not provided.'
        grant = self.verifier.grant(*parsed)
        if grant is None:
            return 401, 'Invalid token.'
        method = str(scope.get('method', 'GET')).upper()
        if grant.read_only and method not in READ_METHODS:
            return 403, (
                f'This token is read-only: it may only read (GET, HEAD), not {method}. '
                'Use a read-write token for changes (`synapse local token create`).'
            )
        return None


async def _refuse(send: Any, status: int, detail: str) -> None:
    body = json.dumps({'detail': detail}).encode()
    headers = [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]
    if status == 401:
        headers.append((b'www-authenticate', b'Token'))
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
