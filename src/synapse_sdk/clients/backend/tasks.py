"""``sdk/tasks/`` (+ ``data/``, ``files/``), ``tasks/{id}/``, ``annotate_task_data`` and ``tasks/set_tags/``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from synapse_sdk.clients.backend._resource import Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call, encode_params

__all__ = ['TasksResource', 'build_annotate_task_data', 'build_get_task', 'build_list_tasks']


def build_list_tasks(params: Mapping[str, Any] | None = None, *, view: str = '') -> Call:
    """``sdk/tasks/[data/|files/]``; filters are sent verbatim: None → ``null``, lists comma-joined
    (``status__in=a,b``)."""
    return list_call(f'sdk/tasks/{view}', dict(params or {}))


def build_get_task(task_id: int, params: Mapping[str, Any] | None = None) -> Call:
    return Call('GET', f'tasks/{task_id}/', params=encode_params(params) or None)


def build_annotate_task_data(task_id: int, data: Mapping[str, Any], *, schema: str | None = None) -> Call:
    """``data`` may be the task data itself, or a full body ``{"action": "submit", "data": {...}}``."""
    body = dict(data) if set(data) == {'action', 'data'} else {'action': 'submit', 'data': dict(data)}
    params = {'schema': schema} if schema == 'any' else None
    return Call('PUT', f'tasks/{task_id}/annotate_task_data/', params=params, json=body)


def build_create_task(body: Mapping[str, Any]) -> Call:
    return Call('POST', 'tasks/', json=dict(body))


class TasksResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """Every matching task (all pages), or with ``list_all=True`` a lazy ``(iterator, count)``."""
        return self._client._list(build_list_tasks(params), list_all=list_all)

    def list_data(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """``{id, data}`` of every matching task (the same filters as :meth:`list`)."""
        return self._client._list(build_list_tasks(params, view='data/'), list_all=list_all)

    def list_files(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """``{id, files}`` (the data unit's files, downloadable links) of every matching task."""
        return self._client._list(build_list_tasks(params, view='files/'), list_all=list_all)

    def set_tags(self, ids: Sequence[int], tags: Sequence[int], action: Literal['add', 'remove'] = 'add') -> Reply:
        """Add or remove task tags (ids of ``task_tags/``) on the tasks ``ids``; ``{'updated': n}``."""
        body = {'ids': list(ids), 'tags': list(tags), 'action': action}
        return self._client._call(Call('POST', 'tasks/set_tags/', json=body), as_object('set_tags'))

    def get(self, task_id: int, params: Mapping[str, Any] | None = None) -> Reply:
        """E.g. ``params={'fields': 'id,data,data_unit', 'expand': 'data_unit'}``."""
        return self._client._call(build_get_task(task_id, params), as_object('task'))

    def annotate(self, task_id: int, data: Mapping[str, Any], *, schema: str | None = None) -> Reply:
        """Replace the task's data; ``schema='any'`` skips the platform's schema check."""
        return self._client._call(build_annotate_task_data(task_id, data, schema=schema), as_object('task'))

    def create(
        self,
        project: int,
        *,
        data_unit: int | None = None,
        data: Mapping[str, Any] | None = None,
        status: str | None = None,
        assignee: int | None = None,
    ) -> Reply:
        body: dict[str, Any] = {'project': project, 'data_unit': data_unit, 'data': dict(data or {})}
        if status is not None:
            body['status'] = status
        if assignee is not None:
            body['assignee'] = assignee
        return self._client._call(build_create_task(body), as_object('task'))
