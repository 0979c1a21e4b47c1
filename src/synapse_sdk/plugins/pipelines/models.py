"""The state of a pipeline run, as executors report it and the backend keeps it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

__all__ = ['ActionState', 'Checkpoint', 'PipelineProgress', 'PipelineStatus']


class PipelineStatus(StrEnum):
    PENDING = 'pending'
    RUNNING = 'running'
    COMPLETED = 'completed'
    FAILED = 'failed'
    CANCELLED = 'cancelled'

    @property
    def finished(self) -> bool:
        return self in (PipelineStatus.COMPLETED, PipelineStatus.FAILED, PipelineStatus.CANCELLED)


class ActionState(BaseModel):
    """One action of a run: its status and its own progress (0-100)."""

    name: str
    status: PipelineStatus = PipelineStatus.PENDING
    progress: float = 0.0
    error: str | None = None
    #: True when this action's result came from the checkpoint of an earlier run.
    restored: bool = False


class PipelineProgress(BaseModel):
    """A snapshot of a run: overall and per-action progress; ``result`` once it completed."""

    run_id: str
    name: str | None = None
    status: PipelineStatus = PipelineStatus.PENDING
    actions: list[ActionState] = Field(default_factory=list)
    current_action: int | None = None
    overall: float = 0.0
    error: str | None = None
    result: Any = None
    resumed_from: str | None = None

    @property
    def current_name(self) -> str | None:
        if self.current_action is None or self.current_action >= len(self.actions):
            return None
        return self.actions[self.current_action].name

    def recompute(self) -> None:
        """``overall`` from the per-action progress (each action an equal share)."""
        if not self.actions:
            return
        done = sum(100.0 if a.status == PipelineStatus.COMPLETED else a.progress for a in self.actions)
        self.overall = round(done / len(self.actions), 2)


class Checkpoint(BaseModel):
    """Taken after action ``action_index`` finished: what the next action needs to start.

    ``params`` are the running params after the action's result was merged in (the next action's
    input); ``result`` is the action's own result in JSON form.
    """

    action_index: int = Field(ge=0)
    action_name: str
    params: dict[str, Any]
    result: Any = None
