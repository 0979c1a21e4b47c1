"""What the review page's JSON API takes and returns (pydantic: validated where it enters)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from synapse_sdk.plugins.actions.to_task.record import Decision

__all__ = [
    'MAX_DECISION_IDS',
    'CommitReply',
    'CommitRequest',
    'Counts',
    'DecisionReply',
    'DecisionRequest',
    'ObjectView',
    'RunView',
    'TaskView',
    'TasksPage',
]

#: the most task ids one decision request may name (a page shows far fewer)
MAX_DECISION_IDS = 10_000

Shape = Literal['rect', 'polygon', 'polyline', 'point', 'other']


class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid')


class DecisionRequest(_Strict):
    """``POST api/decisions``: set ``decision`` on ``task_ids``."""

    task_ids: list[int] = Field(min_length=1, max_length=MAX_DECISION_IDS)
    decision: Decision


class CommitRequest(_Strict):
    """``POST api/commit``: write the approved tasks (``approved_only=False``: every task not rejected)."""

    approved_only: bool = True


class ObjectView(BaseModel):
    """One object of a task's data, with the geometry the page draws, in image pixels."""

    id: str
    image: str  #: the annotation key it belongs to (``image_1``...)
    tool: str
    label: str
    confidence: float | None
    shape: Shape
    rect: tuple[float, float, float, float] | None = None  #: ``x, y, width, height``
    points: list[tuple[float, float]] | None = None  #: polygon, polyline or point vertices


class TaskView(BaseModel):
    """A task as the page shows it."""

    task_id: int
    position: int
    decision: Decision
    image_name: str | None
    image_url: str | None  #: the page's own image route (the bytes come through the backend client)
    proposed: list[ObjectView]
    current: list[ObjectView]
    summary: dict[str, Any] | None
    written: bool
    undone: bool
    conflict: str | None


class Counts(BaseModel):
    """The run's counts, and the progress of a commit now running (``committing``: done, total)."""

    pending: int = 0
    approved: int = 0
    rejected: int = 0
    tasks: int = 0
    written: int = 0
    undone: int = 0
    conflicts: int = 0
    committing: tuple[int, int] | None = None


class RunView(BaseModel):
    run_id: str
    created_at: str
    dry_run: bool
    project: int
    method: str
    job_name: str
    status: str
    sample: int | None


class TasksPage(BaseModel):
    """``GET api/tasks``: one page of the run's tasks, the run, its counts and its class colours."""

    run: RunView
    counts: Counts
    classes: dict[str, str]  #: class -> colour (stable over the whole run)
    total: int
    offset: int
    limit: int
    tasks: list[TaskView]


class DecisionReply(BaseModel):
    changed: int
    counts: Counts


class CommitReply(BaseModel):
    """What the commit did (the commit's own report, as it reports it) and the counts after."""

    report: dict[str, Any]
    counts: Counts
