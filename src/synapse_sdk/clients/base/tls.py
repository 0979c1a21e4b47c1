"""One verifying TLS context for every client of the process."""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ['tls_context']


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client of the process.

    Making one loads the CA bundle (about 25 ms), which every client used to pay, even for a plain-HTTP
    backend. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are read when the first client is made.
    """
    return httpx.create_ssl_context()
