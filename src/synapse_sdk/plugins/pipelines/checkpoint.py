"""Checkpoints: where a resumed run starts, and the backend records of runs and checkpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.pipelines.models import Checkpoint, PipelineProgress, PipelineStatus
from synapse_sdk.utils.redact import redact

__all__ = ['BackendRunStore', 'ResumePoint', 'jsonable', 'resume_point']


def jsonable(value: Any) -> Any:
    """``value`` in JSON form (a model as its dump), as a checkpoint stores it."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode='json')
    return to_jsonable_python(value, fallback=repr)


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run starts: the first action still to run, its params and the last result."""

    start: int
    params: dict[str, Any]
    last_result: Any


def resume_point(actions: Sequence[str], checkpoints: Sequence[Checkpoint], params: Mapping[str, Any]) -> ResumePoint:
    """The action after the last of the consecutive checkpoints ``0, 1, ... k`` of the run being resumed.

    ``params`` (the new submit's) are laid over the checkpoint's running params, so a resumed run can
    fix what made it fail. A checkpoint whose action name differs from the pipeline's action at that
    position means another pipeline: refused.
    """
    by_index = {c.action_index: c for c in checkpoints}
    last: Checkpoint | None = None
    index = 0
    while index in by_index and index < len(actions):
        checkpoint = by_index[index]
        if checkpoint.action_name != actions[index]:
            raise ValidationError(
                f"resume_from: checkpoint {index} is of action '{checkpoint.action_name}' but this pipeline's "
                f"action {index} is '{actions[index]}'; resume a run of the same pipeline",
                {'field': 'resume_from'},
            )
        last, index = checkpoint, index + 1
    if last is None:
        return ResumePoint(0, dict(params), None)
    return ResumePoint(index, {**last.params, **dict(params)}, last.result)


class BackendRunStore:
    """Pipeline runs and their checkpoints as resources of the backend (``pipeline_runs/``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, progress: PipelineProgress, params: Mapping[str, Any], resumed_from: str | None) -> str:
        body = {
            'name': progress.name or '',
            'status': progress.status.value,
            'actions': [a.name for a in progress.actions],
            'params': jsonable(dict(params)),
            'resumed_from': int(resumed_from) if resumed_from is not None else None,
        }
        row = self.client.create_pipeline_run(body)
        return str(row['id'])

    def update(self, run_id: str, progress: PipelineProgress) -> None:
        body: dict[str, Any] = {
            'status': progress.status.value,
            'progress': progress.model_dump(mode='json', include={'actions', 'current_action', 'overall'}),
        }
        if progress.error is not None:
            body['error'] = redact(progress.error)
        if progress.status == PipelineStatus.COMPLETED:
            body['result'] = jsonable(progress.result)
        self.client.update_pipeline_run(run_id, body)

    def save_checkpoint(self, run_id: str, checkpoint: Checkpoint) -> None:
        self.client.create_pipeline_checkpoint(run_id, checkpoint.model_dump(mode='json'))

    def run(self, run_id: str) -> dict[str, Any]:
        row: dict[str, Any] = self.client.get_pipeline_run(run_id)
        return row

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        rows = self.client.list_pipeline_checkpoints(run_id)
        return [Checkpoint.model_validate(row) for row in rows]
