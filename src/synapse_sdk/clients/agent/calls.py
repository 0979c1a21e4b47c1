"""The agent API as pure request builders (sans-I/O); ``AgentClient`` only sends them.

Paths are relative to the agent's base URL (``agents/`` gives it; the local backend's agent is
``<backend>/agent/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synapse_sdk.clients.backend._resource import list_call
from synapse_sdk.clients.base.call import Call, encode_params

__all__ = [
    'RUN_RELEASE_KEYS',
    'build_cluster_resources',
    'build_feasibility',
    'build_get',
    'build_get_job',
    'build_list',
    'build_run_release',
]

#: Body keys of ``plugin_releases/{id}/run/`` (the release fixes plugin and version, the agent is this one).
RUN_RELEASE_KEYS = ('action', 'params', 'job_id', 'storage_id', 'debug', 'language')


def build_get(path: str, params: Mapping[str, Any] | None = None) -> Call:
    return Call('GET', path, params=encode_params(params) or None)


def build_list(path: str, params: Mapping[str, Any] | None = None) -> Call:
    """The first page of a listing (``page_size=100`` unless given)."""
    return list_call(path, dict(params or {}))


def build_feasibility(
    *,
    num_cpus: float,
    num_gpus: float,
    replicas: int = 1,
    memory_bytes: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    kind: str = 'serve',
) -> Call:
    """``POST resources/feasibility/``: can ``replicas`` times (CPUs, GPUs, memory) run on this agent?"""
    body = {
        'kind': kind,
        'num_cpus': num_cpus,
        'num_gpus': num_gpus,
        'memory_bytes': memory_bytes,
        'replicas': replicas,
        'metadata': dict(metadata or {}),
    }
    return Call('POST', 'resources/feasibility/', json=body)


def build_cluster_resources(*, use_cache: bool = True) -> Call:
    return build_get('resources/cluster/', {'use_cache': use_cache})


def build_get_job(job_id: int | str) -> Call:
    return build_get(f'jobs/{job_id}/')


def build_run_release(ident: int | str, data: Mapping[str, Any]) -> Call:
    """Run an action of a release (id or ``code@version``) on the agent; None values are omitted."""
    unknown = sorted(set(data) - set(RUN_RELEASE_KEYS))
    if unknown:
        raise ValueError(f"Unknown run key '{unknown[0]}'; expected some of: {', '.join(RUN_RELEASE_KEYS)}")
    body = {key: data[key] for key in RUN_RELEASE_KEYS if data.get(key) is not None}
    return Call('POST', f'plugin_releases/{ident}/run/', json=body)
