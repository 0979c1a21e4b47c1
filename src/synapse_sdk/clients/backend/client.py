"""``BackendClient`` and ``AsyncBackendClient``: one surface, two I/O shells.

Resources are namespaces (``client.tasks.list(...)``); the flat names used in the seeds
(``list_tasks``, ``run_plugin`` ...) are one-line aliases. Sync methods return values; async ones
return awaitables of the same values.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx

from synapse_sdk.clients.backend._resource import as_object
from synapse_sdk.clients.backend.assignments import AssignmentsMixin
from synapse_sdk.clients.backend.pipelines import PipelinesMixin
from synapse_sdk.clients.backend.surface import BackendSurface
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.client import AsyncHTTPClient, HTTPClient
from synapse_sdk.clients.base.retry import RetryBudget, RetryPolicy
from synapse_sdk.exceptions import AuthenticationError, ClientError, NotFoundError
from synapse_sdk.utils.urls import canonical_url

if TYPE_CHECKING:
    from synapse_sdk.clients.backend.bulk import BulkSession

__all__ = ['AsyncBackendClient', 'BackendClient', 'backend_auth_headers']


def backend_auth_headers(
    access_token: str | None, *, user_token: str | None = None, tenant: str | None = None
) -> dict[str, str]:
    """``Synapse-Access-Token: Token <t>`` (or ``Authorization: Token <user token>``), ``Synapse-Tenant``."""
    headers = {}
    if user_token:
        headers['Authorization'] = f'Token {user_token}'
    elif access_token:
        headers['Synapse-Access-Token'] = f'Token {access_token}'
    if tenant:
        headers['Synapse-Tenant'] = f'Token {tenant}'
    return headers


class _ExplainsRefusals:
    """A 401 from the backend names its URL, where the refused token came from, and ``synapse login``."""

    base_url: str
    _token: str | None
    _token_kind: str

    def _keep_token(self, access_token: str | None, user_token: str | None) -> None:
        self._token = user_token or access_token
        self._token_kind = 'user_token' if user_token else 'access_token'

    def _refused(self, error: ClientError) -> ClientError:
        from synapse_sdk.clients.credentials import explain_refusal

        detail = explain_refusal(error.detail, self.base_url, self._token, kind=self._token_kind)
        return AuthenticationError(error.status_code, detail)


class BackendClient(_ExplainsRefusals, AssignmentsMixin, PipelinesMixin, BackendSurface, HTTPClient):
    """Synchronous client of the platform API (or the local backend, which serves the same API).

    A token the backend refuses raises :class:`~synapse_sdk.exceptions.AuthenticationError` whose text
    names the backend's URL and where the token came from (``SYNAPSE_ACCESS_TOKEN``, the config file, or
    this constructor), never the token; the backend's own answer is on ``__cause__``.
    """

    def __init__(
        self,
        base_url: str,
        access_token: str | None = None,
        *,
        tenant: str | None = None,
        user_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = backend_auth_headers(access_token, user_token=user_token, tenant=tenant)
        HTTPClient.__init__(self, base_url, headers, timeout=timeout, transport=transport, retry=retry)
        self._keep_token(access_token, user_token)
        self._tenant = tenant
        self._identity: str | None = None
        self._mount(self)

    def __repr__(self) -> str:
        return f'BackendClient({self.base_url!r})'

    def bulk_session(
        self,
        width: int,
        *,
        budget: RetryBudget | float | None = None,
        retry_writes: bool | None = None,
        threaded: bool = False,
    ) -> BulkSession:
        """This client's resource methods as coroutines for ``width`` concurrent calls on one event loop.

        Sent on one aiohttp session when the client talks straight to the network, else (or with
        ``threaded``) through this client on worker threads; same auth, retries and errors as the client.
        ``budget``: seconds of retry waits shared by every request of the session (a whole run's bound);
        ``retry_writes=False``: an unanswered PUT is not repeated, for a caller that reads back first.
        """
        from synapse_sdk.clients.backend.bulk import BulkSession

        sender = self.bulk_sender(width, budget=budget, retry_writes=retry_writes, threaded=threaded)
        return BulkSession(sender, self.base_url)

    def backend_identity(self) -> str:
        """What tells this backend from any other, whatever URL reaches it (cached).

        ``instance:<id>`` when the backend serves an instance id (``GET instance/``; the local backend's
        is made with its database), else ``url:<canonical URL>`` (plus a digest of the tenant). Any
        error but "no such endpoint" is raised: a guessed identity could mix two backends' records.
        """
        if self._identity is None:
            self._identity = self._read_identity()
        return self._identity

    def _read_identity(self) -> str:
        try:
            info = self._call(Call('GET', 'instance/'), as_object('instance'))
        except ClientError as exc:
            if not isinstance(exc, NotFoundError) and exc.status_code not in (405, 501):
                raise
            info = {}
        ident = info.get('id')
        if isinstance(ident, str) and ident.strip():
            return f'instance:{ident.strip()}'
        identity = f'url:{canonical_url(self.base_url)}'
        if self._tenant:
            identity += f'#tenant:{hashlib.sha256(self._tenant.encode()).hexdigest()[:16]}'
        return identity


class AsyncBackendClient(_ExplainsRefusals, BackendSurface, AsyncHTTPClient):
    """The async twin: the same methods, each returning an awaitable."""

    def __init__(
        self,
        base_url: str,
        access_token: str | None = None,
        *,
        tenant: str | None = None,
        user_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = backend_auth_headers(access_token, user_token=user_token, tenant=tenant)
        AsyncHTTPClient.__init__(self, base_url, headers, timeout=timeout, transport=transport, retry=retry)
        self._keep_token(access_token, user_token)
        self._mount(self)

    def __repr__(self) -> str:
        return f'AsyncBackendClient({self.base_url!r})'
