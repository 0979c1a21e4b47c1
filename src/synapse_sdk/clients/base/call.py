"""A request described as data (sans-I/O), and turning a response into a value or a ClientError."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal
from urllib.parse import urlsplit

from synapse_sdk.exceptions import ClientError, RateLimitError, client_error_for_status
from synapse_sdk.utils.redact import redact

__all__ = ['Call', 'Parser', 'encode_params', 'error_for_response', 'safe_target']

ResponseKind = Literal['json', 'bytes', 'text']
Parser = Callable[[Any], Any]

_DETAIL_LIMIT = 1000


@dataclass(frozen=True)
class Call:
    """One HTTP request. ``path`` is relative to the base URL, or an absolute URL."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    response: ResponseKind = 'json'
    #: the most body bytes accepted; a larger body raises ResponseTooLargeError (None: no limit)
    max_bytes: int | None = None


def _encode_value(value: Any) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ','.join(_encode_value(v) for v in value)
    return str(value)


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters on the wire: None → ``null``, lists comma-joined, dates ISO, bools lower-case."""
    return {str(key): _encode_value(value) for key, value in (params or {}).items()}


def safe_target(url: str) -> str:
    """``host/path`` of a URL without userinfo or query, for messages and logs."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # a broken IPv6 literal
        return '<invalid URL>'
    host = hostname or ''
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range: left out rather than failing the message
        port = None
    if port:
        host = f'{host}:{port}'
    return f'{host}{parts.path}'


def _detail(content: bytes, content_type: str) -> Any:
    text = content.decode('utf-8', errors='replace')
    if 'json' in content_type:
        try:
            body = json.loads(text)
        except ValueError:
            return redact(text[:_DETAIL_LIMIT])
        if isinstance(body, dict) and isinstance(body.get('detail'), str):
            return redact(body['detail'])
        return redact(json.dumps(body, separators=(',', ':'), default=str)[:_DETAIL_LIMIT])
    return redact(text.strip()[:_DETAIL_LIMIT]) or None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for_response(
    status: int, content: bytes, content_type: str, retry_after: str | None, *, foreign_url: str | None = None
) -> ClientError:
    """The ClientError subclass for an error response.

    From the backend (``foreign_url`` None) the detail is the body's, redacted: ``'<code>: <detail>'``.
    From a URL outside the backend's origin (file storage, a presigned URL) the body is never read: it can
    echo the request's signature (S3's ``<SignatureProvided>``), so the detail is only ``host/path``.
    """
    detail = _detail(content, content_type) if foreign_url is None else redact(safe_target(foreign_url))
    if status == 429:
        return RateLimitError(status, detail, retry_after=_retry_after(retry_after))
    return client_error_for_status(status, detail)
