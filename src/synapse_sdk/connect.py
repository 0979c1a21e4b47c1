"""``create_backend_client()``: a client of the configured backend, else of the embedded local one.

This wiring sits above both :mod:`synapse_sdk.clients` (the HTTP clients and where credentials come
from) and :mod:`synapse_sdk.local` (the local backend, which itself uses the clients), so neither
of those two imports the other's way up: ``local`` → ``clients``, never back.

Host, token and tenant resolve as :func:`synapse_sdk.clients.credentials.resolve_credentials` says;
with no host configured anywhere the target is the local backend of ``SYNAPSE_STATE_DIR``
(``synapse local serve`` over HTTP when it runs, else in this process).
"""

from __future__ import annotations

import os

from synapse_sdk.clients.backend.client import BackendClient
from synapse_sdk.clients.credentials import resolve_credentials, same_host

__all__ = ['create_backend_client']


def _local_token_for(host: str) -> str | None:
    """The local backend's token when ``host`` is the URL of a running ``synapse local serve``."""
    try:
        from synapse_sdk.local.connect import running_server_url
        from synapse_sdk.local.paths import LocalPaths
        from synapse_sdk.local.setup import read_local_token
    except ImportError:  # the local extra is not installed: no local backend to match
        return None
    paths = LocalPaths.resolve()
    return read_local_token(paths) if same_host(running_server_url(paths), host) else None


def create_backend_client(
    host: str | None = None,
    access_token: str | None = None,
    tenant: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> BackendClient | None:
    """A client for the configured backend, or the embedded local one when no host is configured.

    Returns None for a remote host without a token (a running ``synapse local serve`` named as the
    host gets the local backend's own token).
    """
    creds = resolve_credentials(host, access_token, tenant, config_path=config_path)
    if creds['host'] is None:
        from synapse_sdk.local.connect import connect_local

        return connect_local(access_token=creds['access_token'], tenant=creds['tenant'])
    token = creds['access_token'] or _local_token_for(creds['host'])
    if token is None:
        return None
    return BackendClient(creds['host'], token, tenant=creds['tenant'])
