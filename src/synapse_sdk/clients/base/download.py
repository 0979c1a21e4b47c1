"""Streaming a file at any URL to disk (datasets, archives): no auth headers, redirects followed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from synapse_sdk.clients.base.call import error_for_response, safe_target
from synapse_sdk.clients.base.tls import tls_context
from synapse_sdk.exceptions import ClientConnectionError, ClientTimeoutError

__all__ = ['stream_to_file']

CHUNK = 1 << 20


def stream_to_file(
    url: str,
    dest: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 60.0,
) -> int:
    """Write the body at ``url`` to ``dest`` chunk by chunk; returns its size.

    No credential is sent (the URL is anyone's: a presigned link, a public archive), so redirects are
    followed. ``progress(done, total)`` follows the declared ``Content-Length``. Errors are
    ``ClientError`` s naming ``host/path`` only (never the query string of a signed URL).
    """
    done = 0
    try:
        with httpx.Client(
            transport=transport or httpx.HTTPTransport(verify=tls_context()), follow_redirects=True, timeout=timeout
        ) as client:
            with client.stream('GET', url) as response:
                if response.status_code >= 400:
                    raise error_for_response(response.status_code, b'', '', None, foreign_url=url)
                total = int(response.headers.get('content-length') or 0)
                with open(dest, 'wb') as fh:
                    for chunk in response.iter_bytes(CHUNK):
                        fh.write(chunk)
                        done += len(chunk)
                        if progress is not None and total:
                            progress(min(done, total), total)
    except httpx.TimeoutException as exc:
        raise ClientTimeoutError(408, f'Request timed out: GET {safe_target(url)}') from exc
    except httpx.HTTPError as exc:
        raise ClientConnectionError(0, f'Could not download ({type(exc).__name__}): GET {safe_target(url)}') from exc
    return done
