"""Presigned file URLs: ``files/{id}/?expires=<unix time>&signature=<hmac>``, fetchable without a token.

A plugin that reads a task's file with a plain HTTP GET (``urllib.request.urlopen(data_file_url)``)
sends no token header, so the URLs this backend hands out carry their own proof: an HMAC-SHA256 of
the file id and the expiry under a key made for this backend's database (table ``signing_keys``,
created on first use). A link names one file until its expiry (:data:`DEFAULT_TTL_SECONDS` ahead,
rounded up to the minute, so that the links of one response repeat within that minute); an altered
id, expiry or signature, a link of another backend, or a past expiry is refused with 403 and the
reason. Downloads that send a token header instead of a signature work as before.

The signature is a credential: :func:`install_log_redaction` masks it in uvicorn's access log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import select

from synapse_sdk.local.db import Database
from synapse_sdk.local.models import SigningKey

__all__ = [
    'DEFAULT_TTL_SECONDS',
    'EXPIRES',
    'SIGNATURE',
    'check_signature',
    'expiry',
    'install_log_redaction',
    'load_signing_key',
    'presigned_query',
    'redact',
    'sign',
]

#: How long a handed-out link works (at least; see :func:`expiry`).
DEFAULT_TTL_SECONDS = 3600
#: The query keys of a presigned link.
EXPIRES, SIGNATURE = 'expires', 'signature'

_GRANULARITY = 60
_KEY_BYTES = 32
_SIGNATURE_VALUE = re.compile(r'(?<=[?&]signature=)[^&\s"]*')


def load_signing_key(db: Database) -> bytes:
    """This database's signing key, made (once, whichever process comes first) when it has none."""
    with db.read() as session:
        found = session.scalar(select(SigningKey.key).order_by(SigningKey.id).limit(1))
    if found is None:
        with db.write() as session:  # serialised: a second writer sees the first one's key
            found = session.scalar(select(SigningKey.key).order_by(SigningKey.id).limit(1))
            if found is None:
                found = secrets.token_hex(_KEY_BYTES)
                session.add(SigningKey(key=found))
    return bytes.fromhex(found)


def expiry(ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> int:
    """The Unix time a link made now expires: ``ttl_seconds`` ahead, rounded up to the minute."""
    deadline = (time.time() if now is None else now) + ttl_seconds
    return math.ceil(deadline / _GRANULARITY) * _GRANULARITY


def sign(key: bytes, file_id: int, expires: int) -> str:
    return hmac.new(key, f'files/{file_id}/{expires}'.encode(), hashlib.sha256).hexdigest()


def presigned_query(key: bytes, file_id: int, expires: int) -> str:
    """``expires=...&signature=...`` for one file."""
    return urlencode({EXPIRES: expires, SIGNATURE: sign(key, file_id, expires)})


def check_signature(
    key: bytes, file_id: int, expires: str | None, signature: str | None, now: float | None = None
) -> str | None:
    """Why a presigned request for ``file_id`` is refused, or None when its link is good."""
    renew = 'ask the API for the file again (data unit, task or data file) for a fresh link'
    if not signature:
        return f'The link has no signature: {renew}, or send a token header.'
    if expires is None or not re.fullmatch(r'[0-9]{1,12}', expires):
        return f"The link's '{EXPIRES}' is missing or not a Unix time: {renew}."
    if not hmac.compare_digest(sign(key, file_id, int(expires)).encode(), signature.encode('utf-8', 'replace')):
        return f'The link was altered or was not made by this backend (its signature does not match): {renew}.'
    if int(expires) <= (time.time() if now is None else now):
        when = datetime.fromtimestamp(int(expires), UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
        return f'The link expired at {when}: {renew}.'
    return None


def redact(text: str) -> str:
    """``...?expires=1&signature=abc`` → ``...?expires=1&signature=[redacted]``."""
    return _SIGNATURE_VALUE.sub('[redacted]', text)


class _RedactSignatures(logging.Filter):
    """Masks link signatures in the string arguments of a log record (uvicorn's access lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and 'signature=' in a for a in record.args):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and 'signature=' in record.msg:
            record.msg = redact(record.msg)
        return True


def install_log_redaction(logger_name: str = 'uvicorn.access') -> None:
    """Mask signatures in ``logger_name``'s records (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _RedactSignatures) for f in logger.filters):
        logger.addFilter(_RedactSignatures())
