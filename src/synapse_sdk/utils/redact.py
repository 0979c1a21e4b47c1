"""Keep secrets out of messages and logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ['add_secret', 'redact', 'sanitize_urls']

_MASK = '***'
_known_secrets: set[str] = set()

_PATTERNS = [
    # Authorization-style headers and key=value pairs
    re.compile(r'(?i)((?:access[_-]?token|token|password|passwd|secret|api[_-]?key)\s*[=:]\s*)([^\s&\'",]+)'),
    re.compile(r'(?i)((?:Token|Bearer)\s+)([A-Za-z0-9._\-~+/=]{8,})'),
    # credentials inside URLs: scheme://user:pass@host
    re.compile(r'(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)'),
    # signed-URL query parameters
    re.compile(
        r'(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig|'
        r'X-Goog-Signature|X-Goog-Credential|token|access_token)=)([^&\s\'"]+)'
    ),
]


def add_secret(*values: str | None) -> None:
    """Register values that must never appear in output (tokens read at run time)."""
    for value in values:
        if value and len(value) >= 6:
            _known_secrets.add(value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask tokens, passwords and signed-URL parameters in ``text``."""
    for secret in (*_known_secrets, *secrets):
        if secret:
            text = text.replace(secret, _MASK)
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f'{m.group(1)}{_MASK}{m.group(3)}', text)
        else:
            text = pattern.sub(lambda m: f'{m.group(1)}{_MASK}', text)
    return text


_URL = re.compile(r'(?i)\b([a-z][a-z0-9+.\-]*://)(?:[^/\s@]*@)?([^\s?#\'"]*)(?:\?[^\s#\'"]*)?')


def sanitize_urls(text: str) -> str:
    """Drop userinfo and query strings from every URL in ``text``, then :func:`redact` it."""
    return redact(_URL.sub(lambda m: f'{m.group(1)}{m.group(2)}', text))
