"""One spelling per URL, so that two spellings of the same backend are known to be the same."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ['canonical_url']

_DEFAULT_PORTS = {'http': 80, 'https': 443}
_LOOPBACK_NAMES = frozenset({'localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback'})


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def canonical_url(url: str) -> str:
    """``scheme://host[:port]/path/`` with the scheme and host lower-cased, IDNA host names, the default
    port dropped, repeated and trailing slashes made one, no userinfo, query or fragment; every loopback
    spelling (``127.0.0.1``, ``localhost``, ``[::1]``) is ``localhost``: on one machine they reach the same
    server.

    >>> canonical_url('HTTP://User:pw@LocalHost:80//api?x=1')
    'http://localhost/api/'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or '').rstrip('.').lower()
    try:
        host = host.encode('idna').decode('ascii')
    except UnicodeError:
        pass
    if _is_loopback(host):
        host = 'localhost'
    elif ':' in host:
        host = f'[{ipaddress.ip_address(host).compressed}]'
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f'{host}:{port}'
    path = re.sub('/+', '/', parts.path or '/').rstrip('/') + '/'
    return f'{scheme}://{netloc}{path}'
