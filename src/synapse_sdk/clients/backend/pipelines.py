"""``pipeline_runs/`` and ``pipeline_runs/{id}/checkpoints/``: pipeline runs kept in the backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from synapse_sdk.clients.backend._resource import Executor, Reply, Resource, as_object, list_call
from synapse_sdk.clients.base.call import Call

__all__ = ['RUN_PATCH_KEYS', 'PipelineRunsResource', 'PipelinesMixin']

RUN_PATCH_KEYS = ('status', 'progress', 'result', 'error')


class PipelineRunsResource(Resource):
    def list(self, params: Mapping[str, Any] | None = None, *, list_all: bool = False) -> Reply:
        return self._client._list(list_call('pipeline_runs/', dict(params or {})), list_all=list_all)

    def get(self, run_id: int | str) -> Reply:
        return self._client._call(Call('GET', f'pipeline_runs/{run_id}/'), as_object('pipeline run'))

    def create(self, data: Mapping[str, Any]) -> Reply:
        """``{actions, name?, status?, params?, resumed_from?}``."""
        return self._client._call(Call('POST', 'pipeline_runs/', json=dict(data)), as_object('pipeline run'))

    def update(self, run_id: int | str, data: Mapping[str, Any]) -> Reply:
        """PATCH any subset of :data:`RUN_PATCH_KEYS`."""
        unknown = sorted(set(data) - set(RUN_PATCH_KEYS))
        if unknown:
            raise ValueError(
                f"Unknown pipeline run field '{unknown[0]}'; expected some of: {', '.join(RUN_PATCH_KEYS)}"
            )
        call = Call('PATCH', f'pipeline_runs/{run_id}/', json=dict(data))
        return self._client._call(call, as_object('pipeline run'))

    def checkpoints(self, run_id: int | str) -> Reply:
        """Every checkpoint of the run, in action order."""
        call = list_call(f'pipeline_runs/{run_id}/checkpoints/', {'ordering': 'action_index'})
        return self._client._list(call)

    def add_checkpoint(self, run_id: int | str, data: Mapping[str, Any]) -> Reply:
        """``{action_index, action_name, params, result}`` (replaces that action's earlier checkpoint)."""
        call = Call('POST', f'pipeline_runs/{run_id}/checkpoints/', json=dict(data))
        return self._client._call(call, as_object('pipeline checkpoint'))


class PipelinesMixin:
    """The flat pipeline-run methods of a backend client (``client.pipeline_runs`` is the namespace)."""

    @property
    def pipeline_runs(self) -> PipelineRunsResource:
        return PipelineRunsResource(cast(Executor, self))

    def list_pipeline_runs(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.pipeline_runs.list(params, list_all=list_all)

    def get_pipeline_run(self, run_id: int | str) -> Reply:
        return self.pipeline_runs.get(run_id)

    def create_pipeline_run(self, data: Mapping[str, Any]) -> Reply:
        return self.pipeline_runs.create(data)

    def update_pipeline_run(self, run_id: int | str, data: Mapping[str, Any]) -> Reply:
        return self.pipeline_runs.update(run_id, data)

    def list_pipeline_checkpoints(self, run_id: int | str) -> Reply:
        return self.pipeline_runs.checkpoints(run_id)

    def create_pipeline_checkpoint(self, run_id: int | str, data: Mapping[str, Any]) -> Reply:
        return self.pipeline_runs.add_checkpoint(run_id, data)
