"""``assignments/`` and ``sdk/assignments/`` (+ ``data/``, ``files/``): export sources.

``client.assignments.list(...)`` and the seeds' flat names (``get_assignments(filters)`` →
``(iterator, count)``, ``list_assignments``, ``get_assignment`` ...), mixed into both client shells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from synapse_sdk.clients.backend._resource import Executor, Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['AssignmentsMixin', 'AssignmentsResource', 'build_list_assignments']


def build_list_assignments(params: Mapping[str, Any] | None = None, *, view: str = '') -> Call:
    """``sdk/assignments/[data/|files/]`` with the filters sent verbatim (lists comma-joined)."""
    return list_call(f'sdk/assignments/{view}', dict(params or {}))


class AssignmentsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """Every matching assignment (all pages), or with ``list_all=True`` a lazy ``(iterator, count)``."""
        return self._client._list(build_list_assignments(params), list_all=list_all)

    def list_data(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """``{id, data}`` of every matching assignment."""
        return self._client._list(build_list_assignments(params, view='data/'), list_all=list_all)

    def list_files(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        """``{id, file}`` (the task's data unit files) of every matching assignment."""
        return self._client._list(build_list_assignments(params, view='files/'), list_all=list_all)

    def get(self, assignment_id: int) -> Reply:
        return self._client._call(Call('GET', f'assignments/{assignment_id}/'), as_object('assignment'))

    def create(
        self, task: int, *, user: int | None = None, data: Mapping[str, Any] | None = None, **state: Any
    ) -> Reply:
        """A new assignment of ``task`` (``status_label``, ``status_review``, ``is_confirmed`` may be given)."""
        body = {'task': task, 'user': user, 'data': dict(data or {}), **state}
        return self._client._call(Call('POST', 'assignments/', json=body), as_object('assignment'))

    def set_tags(self, ids: Sequence[int], tags: Sequence[int], action: Literal['add', 'remove'] = 'add') -> Reply:
        body = {'ids': list(ids), 'tags': list(tags), 'action': action}
        return self._client._call(Call('POST', 'assignments/set_tags/', json=body), as_object('set_tags'))


class AssignmentsMixin:
    """``client.assignments`` and the flat names of the seeds, for a shell that is an :class:`Executor`."""

    @property
    def assignments(self) -> AssignmentsResource:
        executor: Executor = self  # type: ignore[assignment]
        return AssignmentsResource(executor)

    def get_assignments(self, filters: Mapping[str, Any] | None = None) -> Reply:
        """``(iterator, count)`` of the assignments matching ``filters`` (e.g. ``{'project': 1}``), read lazily."""
        return self.assignments.list(filters, list_all=True)

    def list_assignments(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.assignments.list(params, list_all=list_all)

    def list_assignments_data(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.assignments.list_data(params, list_all=list_all)

    def list_assignments_files(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.assignments.list_files(params, list_all=list_all)

    def get_assignment(self, assignment_id: int) -> Reply:
        return self.assignments.get(assignment_id)

    def set_tags_assignments(self, data: Mapping[str, Any]) -> Reply:
        """``{'ids': [...], 'tags': [...], 'action': 'add' | 'remove'}``."""
        return self.assignments.set_tags(data['ids'], data['tags'], data.get('action', 'add'))
