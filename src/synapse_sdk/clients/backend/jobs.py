"""``jobs/`` and ``logs/``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['JOB_PATCH_KEYS', 'JobsResource', 'LogsResource', 'build_create_logs', 'build_update_job']

JOB_PATCH_KEYS = ('status', 'progress_record', 'metrics_record', 'result', 'console_logs', 'meta')


def build_update_job(job_id: int | str, data: Mapping[str, Any]) -> Call:
    unknown = sorted(set(data) - set(JOB_PATCH_KEYS))
    if unknown:
        raise ValueError(f"Unknown job field '{unknown[0]}'; expected some of: {', '.join(JOB_PATCH_KEYS)}")
    return Call('PATCH', f'jobs/{job_id}/', json=dict(data))


def build_create_logs(entries: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Call:
    body = dict(entries) if isinstance(entries, Mapping) else [dict(e) for e in entries]
    return Call('POST', 'logs/', json=body)


class JobsResource(Resource):
    def get(self, job_id: int | str) -> Reply:
        return self._client._call(Call('GET', f'jobs/{job_id}/'), as_object('job'))

    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('jobs/', dict(params or {})), list_all=list_all)

    def create(self, data: Mapping[str, Any]) -> Reply:
        """``{action, params?, plugin_release?, agent?, status?, meta?}`` (runs create jobs themselves)."""
        return self._client._call(Call('POST', 'jobs/', json=dict(data)), as_object('job'))

    def update(self, job_id: int | str, data: Mapping[str, Any]) -> Reply:
        """PATCH any subset of :data:`JOB_PATCH_KEYS` (status, progress/metrics records, result, console logs, meta)."""
        return self._client._call(build_update_job(job_id, data), as_object('job'))

    def console_logs(self, job_id: int | str) -> Reply:
        return self._client._call(Call('GET', f'jobs/{job_id}/console_logs/'), as_object('console logs'))


class LogsResource(Resource):
    def create(self, entries: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Reply:
        """One entry or a list of ``{event, data, datetime, job, step?, level?, file?}``."""
        return self._client._call(build_create_logs(entries), lambda body: body)

    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('logs/', dict(params or {})), list_all=list_all)
