"""``AgentClient``: the agent API (Ray and operations views), ``Authorization: <agent token>``.

Every method builds its request with :mod:`synapse_sdk.clients.agent.calls` and lets the sync or
async shell send it; listings follow DRF pages like the backend client (``list_all=`` too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from synapse_sdk.clients.agent.calls import (
    build_cluster_resources,
    build_feasibility,
    build_get,
    build_get_job,
    build_list,
    build_run_release,
)
from synapse_sdk.clients.backend._resource import Reply, as_object
from synapse_sdk.clients.base.client import AsyncHTTPClient, HTTPClient
from synapse_sdk.clients.base.retry import RetryPolicy

__all__ = ['AGENT_TIMEOUT', 'AgentClient', 'AsyncAgentClient', 'agent_auth_headers', 'build_feasibility']

#: connect 3 s, read 10 s
AGENT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

Params = Mapping[str, Any] | None


def agent_auth_headers(agent_token: str, *, user_token: str | None = None, tenant: str | None = None) -> dict[str, str]:
    headers = {'Authorization': agent_token}
    if user_token:
        headers['SYNAPSE-User'] = f'Token {user_token}'
    if tenant:
        headers['SYNAPSE-Tenant'] = f'Token {tenant}'
    return headers


class _AgentSurface:
    """Every agent endpoint of the spec; shared by both shells."""

    _call: Any
    _list: Any

    def health(self) -> Reply:
        return self._call(build_get('health/'), as_object('health'))

    def check_feasibility(self, **kwargs: Any) -> Reply:
        """``{allowed: bool, reasons: [str]}`` for ``num_cpus, num_gpus, replicas, memory_bytes, metadata``."""
        return self._call(build_feasibility(**kwargs), as_object('feasibility'))

    def get_cluster_resources(self, *, use_cache: bool = True) -> Reply:
        """Capacity snapshot: ``{total, available, nodes, ...}``."""
        return self._call(build_cluster_resources(use_cache=use_cache), as_object('cluster resources'))

    def get_resource_policy(self) -> Reply:
        return self._call(build_get('resources/policy/'), as_object('resource policy'))

    def gpu_status(self) -> Reply:
        return self._call(build_get('gpu_status/'), as_object('GPU status'))

    def system(self) -> Reply:
        return self._call(build_get('system/'), as_object('system'))

    def list_nodes(self, params: Params = None, *, list_all: bool = False) -> Reply:
        return self._list(build_list('nodes/', params), list_all=list_all)

    def list_tasks(self, params: Params = None, *, list_all: bool = False) -> Reply:
        """Ray tasks on the agent."""
        return self._list(build_list('tasks/', params), list_all=list_all)

    def list_jobs(self, params: Params = None, *, list_all: bool = False) -> Reply:
        return self._list(build_list('jobs/', params), list_all=list_all)

    def get_job(self, job_id: int | str) -> Reply:
        return self._call(build_get_job(job_id), as_object('job'))

    def list_serve_applications(self, params: Params = None, *, list_all: bool = False) -> Reply:
        return self._list(build_list('serve_applications/', params), list_all=list_all)

    def list_containers(self, params: Params = None, *, list_all: bool = False) -> Reply:
        return self._list(build_list('containers/', params), list_all=list_all)

    def list_builds(self, params: Params = None, *, list_all: bool = False) -> Reply:
        return self._list(build_list('builds/', params), list_all=list_all)

    def run_plugin_release(self, ident: int | str, data: Mapping[str, Any]) -> Reply:
        """``{action, params, job_id?, storage_id?, debug?, language?}`` → the run's answer (e.g. ``{job_id}``)."""
        return self._call(build_run_release(ident, data), lambda body: body)


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

    def __repr__(self) -> str:
        return f'AgentClient({self.base_url!r})'


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

    def __repr__(self) -> str:
        return f'AsyncAgentClient({self.base_url!r})'
