"""The plugin core's one seam to the client package: the only module under ``plugins/`` that names it.

Everything else in the core reaches the backend through ``ctx.client``, typed with
:class:`~synapse_sdk.plugins.context.BackendClientProtocol`. This module builds that client from the
configured credentials (or the embedded local backend), reads the credentials a Ray worker needs and
streams a file at any URL to disk (datasets); each imports what it needs lazily, so
``import synapse_sdk.plugins`` loads no HTTP stack.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ['backend_client', 'client_for_url', 'default_client', 'download_to_file', 'resolved_credentials']


def default_client() -> Any | None:
    """A backend client from the configured credentials, or None (no client package, or no token)."""
    try:
        connect = importlib.import_module('synapse_sdk.connect')
    except ImportError:
        return None
    return connect.create_backend_client()


def resolved_credentials() -> dict[str, str | None]:
    """``{host, access_token, tenant}`` as the client would resolve them; ``{}`` when they cannot be read."""
    try:
        credentials = importlib.import_module('synapse_sdk.clients.credentials')
        resolved: dict[str, str | None] = credentials.resolve_credentials()
    except (ImportError, ValueError, OSError):
        return {}
    return resolved


def download_to_file(
    url: str, dest: Path, *, progress: Callable[[int, int], None] | None = None, transport: Any = None
) -> int:
    """The body at ``url`` streamed into ``dest`` (see ``clients.base.download``); raises ``ClientError`` s."""
    download = importlib.import_module('synapse_sdk.clients.base.download')
    size: int = download.stream_to_file(url, dest, progress=progress, transport=transport)
    return size


def backend_client(base_url: str, access_token: str | None) -> Any:
    """A backend client of ``base_url`` with ``access_token`` (a model server's own, made in its replica)."""
    backend = importlib.import_module('synapse_sdk.clients.backend.client')
    return backend.BackendClient(base_url, access_token)


def client_for_url(base_url: str) -> Any:
    """A backend client of ``base_url`` with the token configured for that host (none when it has none)."""
    credentials = importlib.import_module('synapse_sdk.clients.credentials')
    token = credentials.resolve_credentials(host=base_url).get('access_token')
    return backend_client(base_url, token)
