"""``AgentClient``: the agent API (Ray and operations views), ``Authorization: <agent token>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from synapse_sdk.clients.backend._resource import Reply, as_object
from synapse_sdk.clients.base.call import Call, encode_params
from synapse_sdk.clients.base.client import AsyncHTTPClient, HTTPClient
from synapse_sdk.clients.base.retry import RetryPolicy

__all__ = ['AGENT_TIMEOUT', 'AgentClient', 'AsyncAgentClient', 'agent_auth_headers', 'build_feasibility']

#: connect 3 s, read 10 s
AGENT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def agent_auth_headers(agent_token: str, *, user_token: str | None = None, tenant: str | None = None) -> dict[str, str]:
    headers = {'Authorization': agent_token}
    if user_token:
        headers['SYNAPSE-User'] = f'Token {user_token}'
    if tenant:
        headers['SYNAPSE-Tenant'] = f'Token {tenant}'
    return headers


def build_feasibility(
    *,
    num_cpus: float,
    num_gpus: float,
    replicas: int = 1,
    memory_bytes: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    kind: str = 'serve',
) -> Call:
    body = {
        'kind': kind,
        'num_cpus': num_cpus,
        'num_gpus': num_gpus,
        'memory_bytes': memory_bytes,
        'replicas': replicas,
        'metadata': dict(metadata or {}),
    }
    return Call('POST', 'resources/feasibility/', json=body)


def _get(path: str, params: Mapping[str, Any] | None = None) -> Call:
    return Call('GET', path, params=encode_params(params) or None)


class _AgentSurface:
    _call: Any

    def check_feasibility(self, **kwargs: Any) -> Reply:
        """``{allowed: bool, reasons: [str]}`` for ``num_cpus, num_gpus, replicas, memory_bytes, metadata``."""
        return self._call(build_feasibility(**kwargs), as_object('feasibility'))

    def get_cluster_resources(self, *, use_cache: bool = True) -> Reply:
        return self._call(_get('resources/cluster/', {'use_cache': use_cache}), lambda body: body)

    def health(self) -> Reply:
        return self._call(_get('health/'), lambda body: body)

    def list_jobs(self, params: Mapping[str, Any] | None = None) -> Reply:
        return self._call(_get('jobs/', params), lambda body: body)

    def get_job(self, job_id: str) -> Reply:
        return self._call(_get(f'jobs/{job_id}/'), lambda body: body)

    def list_nodes(self) -> Reply:
        return self._call(_get('nodes/'), lambda body: body)

    def list_serve_applications(self) -> Reply:
        return self._call(_get('serve_applications/'), lambda body: body)

    def gpu_status(self) -> Reply:
        return self._call(_get('gpu_status/'), lambda body: body)


class AgentClient(_AgentSurface, HTTPClient):
    def __init__(
        self,
        base_url: str,
        agent_token: str,
        *,
        user_token: str | None = None,
        tenant: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = agent_auth_headers(agent_token, user_token=user_token, tenant=tenant)
        HTTPClient.__init__(
            self, base_url, headers, timeout=timeout, transport=transport, retry=retry, default_timeout=AGENT_TIMEOUT
        )


class AsyncAgentClient(_AgentSurface, AsyncHTTPClient):
    def __init__(
        self,
        base_url: str,
        agent_token: str,
        *,
        user_token: str | None = None,
        tenant: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = agent_auth_headers(agent_token, user_token=user_token, tenant=tenant)
        AsyncHTTPClient.__init__(
            self, base_url, headers, timeout=timeout, transport=transport, retry=retry, default_timeout=AGENT_TIMEOUT
        )
