"""Tokens (issued once, stored as SHA-256 digests) and the gate that checks one on every request.

Backend paths take ``Synapse-Access-Token: Token <access token>`` or ``Authorization: Token <user
token>``; the local agent's paths (``/agent/...``) take ``Authorization: <agent token>``, as on the
platform. A request without a valid token gets 401 before any route runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from typing import Any

from sqlalchemy import select

from synapse_sdk.local.db import Database
from synapse_sdk.local.models import AccessToken, Agent

__all__ = [
    'AGENT_PREFIX',
    'OPEN_PATHS',
    'TOKEN_KINDS',
    'AuthGate',
    'TokenVerifier',
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
    """Checks tokens against the database, remembering the ones it has already accepted."""

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
        return self._remember(key, found is not None)

    def verify_agent(self, token: str) -> bool:
        """Whether ``token`` is the token of this backend's own agent (the one without a URL of its own).

        Only digests are stored; the token's digest is compared with each in constant time.
        """
        key = ('agent', hash_token(token))
        if key in self._known:
            return True
        with self._db.read() as session:
            digests = session.scalars(select(Agent.token_digest).where(Agent.url.is_(None))).all()
        found = False
        for digest in digests:
            found |= hmac.compare_digest(digest.encode(), key[1].encode())
        return self._remember(key, found)

    def _remember(self, key: tuple[str, str], ok: bool) -> bool:
        if ok:
            with self._lock:
                self._known.add(key)
        return ok


class AuthGate:
    """ASGI middleware: 401 ``{"detail": ...}`` unless the request carries a valid token for its path."""

    def __init__(self, app: Any, verifier: TokenVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] == 'http' and scope['path'] not in OPEN_PATHS:
            problem = self._problem(scope)
            if problem is not None:
                await _unauthorized(send, problem)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope: dict[str, Any]) -> str | None:
        headers = {k: v for k, v in scope.get('headers') or () if k in (b'synapse-access-token', b'authorization')}
        access = headers.get(b'synapse-access-token', b'').decode('latin-1') or None
        authorization = headers.get(b'authorization', b'').decode('latin-1') or None
        if scope['path'].startswith(AGENT_PREFIX):
            if not authorization:
                return 'Authentication credentials were not provided.'
            return None if self.verifier.verify_agent(authorization.strip()) else 'Invalid agent token.'
        parsed = parse_auth_headers(access, authorization)
        if parsed is None:
            return 'Authentication credentials were not provided.'
        return None if self.verifier.verify(*parsed) else 'Invalid token.'


async def _unauthorized(send: Any, detail: str) -> None:
    body = json.dumps({'detail': detail}).encode()
    headers = [
        (b'content-type', b'application/json'),
        (b'content-length', str(len(body)).encode()),
        (b'www-authenticate', b'Token'),
    ]
    await send({'type': 'http.response.start', 'status': 401, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
