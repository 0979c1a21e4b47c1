"""``verify_and_save``: check a token against the backend with one request, then save it (``synapse login``).

Kept apart from :mod:`.credentials`, which the backend client itself uses (to explain a refused token),
so that neither imports the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from synapse_sdk.clients.backend.client import BackendClient
from synapse_sdk.clients.credentials import shown_url, write_config

__all__ = ['verify_and_save']


def verify_and_save(
    host: str, token: str, *, tenant: str | None = None, path: str | os.PathLike[str] | None = None
) -> Path:
    """Check the token with one authenticated request, then merge host/token/tenant into the config file."""
    from synapse_sdk.exceptions import AuthenticationError

    with BackendClient(host, token, tenant=tenant) as client:
        try:
            client.projects.list({'page_size': 1}, list_all=True)
        except AuthenticationError as exc:
            answer = exc.__cause__ if isinstance(exc.__cause__, AuthenticationError) else exc
            raise AuthenticationError(
                401,
                f'The backend refused the token ({answer.detail}); nothing was saved. '
                f'{shown_url(client.base_url)} does not accept the token given to `synapse login`; '
                'copy a valid one and log in again',
            ) from exc
    updates: dict[str, Any] = {'host': host.rstrip('/') + '/', 'access_token': token}
    if tenant:
        updates['tenant'] = tenant
    return write_config(updates, path)
