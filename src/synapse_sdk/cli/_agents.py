"""Reaching an agent of the configured backend: its client, its health, its cluster resources.

Shared by ``synapse agent`` and ``synapse doctor``. The agent's token (needed for everything but
``health/``): for the local backend's own agent, ``<state dir>/agent_token`` (read by
``connect_local_agent()``); for any other, in order, the backend's listing (``token?``), the saved
selection, or the worker variables ``SYNAPSE_AGENT_URL`` + ``SYNAPSE_AGENT_TOKEN`` (when the URL is
this agent's).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from synapse_sdk.clients.agent.client import AgentClient
from synapse_sdk.clients.agent_selection import SavedAgent
from synapse_sdk.clients.base.retry import RetryPolicy
from synapse_sdk.clients.base.tls import tls_context
from synapse_sdk.clients.credentials import same_host, shown_url
from synapse_sdk.exceptions import ClientError

__all__ = [
    'PROBE_RETRY',
    'PROBE_TIMEOUT',
    'AgentAccess',
    'Health',
    'agent_access',
    'is_local_backend',
    'node_rows',
    'probe_health',
]

#: One try, connect 2 s / read 3 s: two probes in a row answer within 10 s, whatever the server does.
PROBE_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
PROBE_RETRY = RetryPolicy(attempts=1)


@dataclass
class AgentAccess:
    """An agent's base URL and, when its token was found, a client and where the token came from."""

    url: str
    client: AgentClient | None = None
    token_source: str | None = None
    in_process: bool = False  #: the local backend's own agent, served in this process (no HTTP)

    @property
    def where(self) -> str:
        return 'in this process' if self.in_process else f'at {shown_url(self.url)}'

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@dataclass(frozen=True)
class Health:
    """What the agent's ``health/`` answered (``error``: why it did not)."""

    url: str
    ok: bool
    status: str | None = None
    error: str | None = None
    millis: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {'url': self.url, 'ok': self.ok, 'status': self.status, 'error': self.error, 'ms': self.millis}


def is_local_backend(host: str | None) -> bool:
    """Whether ``host`` is the local backend of ``SYNAPSE_LOCAL_DIR``: none configured, or its running server."""
    if host is None:
        return True
    try:
        from synapse_sdk.local.connect import running_server_url
        from synapse_sdk.local.paths import LocalPaths
    except ImportError:  # the local extra is not installed
        return False
    return same_host(running_server_url(LocalPaths.resolve()), host)


def agent_access(
    agent: Mapping[str, Any],
    *,
    backend_url: str,
    local: bool,
    saved: SavedAgent | None = None,
    timeout: httpx.Timeout = PROBE_TIMEOUT,
    retry: RetryPolicy = PROBE_RETRY,
) -> AgentAccess:
    """How to reach ``agent`` (a row of ``agents/``) listed by the backend at ``backend_url``.

    ``local``: the backend is the local backend of ``SYNAPSE_LOCAL_DIR`` (its own agent is
    ``<backend>/agent/``, with its token in the state directory).
    """
    url = str(agent.get('url') or '')
    if local and same_host(url, f'{backend_url.rstrip("/")}/agent/'):
        from synapse_sdk.local.connect import IN_PROCESS_URL, connect_local_agent
        from synapse_sdk.local.paths import LocalPaths

        in_process = same_host(backend_url, IN_PROCESS_URL)
        client = connect_local_agent(in_process=in_process, timeout=timeout, retry=retry)
        token_file = LocalPaths.resolve().agent_token_file
        return AgentAccess(client.base_url, client, f'the local agent token file {token_file}', in_process=in_process)
    token, source = _token_for(agent, url, saved)
    if token is None:
        return AgentAccess(url)
    return AgentAccess(url, AgentClient(url, token, timeout=timeout, retry=retry), source)


def _token_for(agent: Mapping[str, Any], url: str, saved: SavedAgent | None) -> tuple[str | None, str | None]:
    listed = agent.get('token')
    if isinstance(listed, str) and listed:
        return listed, "the backend's agent listing"
    if saved is not None and saved.token and saved.id == agent.get('id') and same_host(saved.url, url):
        return saved.token, 'the saved agent selection (`synapse agent select`)'
    env_token = os.environ.get('SYNAPSE_AGENT_TOKEN')
    if env_token and same_host(os.environ.get('SYNAPSE_AGENT_URL'), url):
        return env_token, 'SYNAPSE_AGENT_TOKEN'
    return None, None


def probe_health(access: AgentAccess, *, timeout: httpx.Timeout = PROBE_TIMEOUT) -> Health:
    """``GET <agent>/health/`` once, within ``timeout`` (the path is open: no token needed)."""
    url = f'{access.url.rstrip("/")}/health/'
    shown = shown_url(url)
    if not url.startswith(('http://', 'https://')):
        return Health(shown, False, error=f'the agent URL {access.url!r} is not an http(s) URL')
    started = time.perf_counter()
    try:
        if access.client is not None:
            body: Any = access.client.health()
        else:
            with httpx.Client(timeout=timeout, verify=tls_context(), follow_redirects=False) as http:
                answer = http.get(url)
                answer.raise_for_status()
                body = answer.json()
    except (ClientError, httpx.HTTPError, ValueError) as exc:
        return Health(shown, False, error=_reason(exc))
    millis = round((time.perf_counter() - started) * 1000, 1)
    status = str(body.get('status', '')) if isinstance(body, dict) else ''
    if status.lower() == 'ok':
        return Health(shown, True, status, millis=millis)
    problem = f'it reports status {status!r}' if status else 'its answer has no "status"'
    return Health(shown, False, status or None, problem, millis)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        detail = ' '.join(str(exc.detail).split())
        return detail if exc.status_code == 0 else f'HTTP {exc.status_code}: {detail}'
    if isinstance(exc, httpx.HTTPStatusError):
        return f'HTTP {exc.response.status_code}'
    if isinstance(exc, httpx.TimeoutException):
        return f'no answer within {PROBE_TIMEOUT.read:g} s'
    if isinstance(exc, httpx.HTTPError):
        return f'cannot connect ({type(exc).__name__})'
    return 'the answer is not JSON'


def _amount(resources: Mapping[str, Any], *keys: str) -> float:
    for key in keys:
        value = resources.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def _totals(resources: Mapping[str, Any]) -> tuple[float, float, float]:
    """CPU, GPU and memory bytes of a resource map (the local agent's ``cpu`` or Ray's ``CPU`` keys)."""
    return (
        _amount(resources, 'cpu', 'CPU'),
        _amount(resources, 'gpu', 'GPU'),
        _amount(resources, 'memory_bytes', 'memory'),
    )


def node_rows(snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A row per node of a ``resources/cluster/`` snapshot, then ``total``.

    Each row is ``{node, alive, cpu, gpu, memory_bytes}``.
    """
    rows: list[dict[str, Any]] = []
    for node in snapshot.get('nodes') or []:
        if not isinstance(node, Mapping):
            continue
        cpu, gpu, memory = _totals(node.get('resources') or {})
        name = node.get('hostname') or node.get('id') or '?'
        rows.append({'node': str(name), 'alive': node.get('alive'), 'cpu': cpu, 'gpu': gpu, 'memory_bytes': memory})
    total = snapshot.get('total')
    if isinstance(total, Mapping):
        cpu, gpu, memory = _totals(total)
    else:
        cpu, gpu, memory = (sum(float(row[key]) for row in rows) for key in ('cpu', 'gpu', 'memory_bytes'))
    rows.append({'node': 'total', 'alive': None, 'cpu': cpu, 'gpu': gpu, 'memory_bytes': memory})
    return rows
