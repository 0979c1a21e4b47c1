"""State shared by the ToTask steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synapse_sdk.plugins.actions.to_task.io import TaskHooks
from synapse_sdk.plugins.actions.to_task.ledger import Ledger
from synapse_sdk.plugins.actions.to_task.models import InferenceTarget, TaskFailure, ToTaskParams
from synapse_sdk.plugins.actions.to_task.record import RunRecord
from synapse_sdk.plugins.context import BackendClientProtocol
from synapse_sdk.plugins.steps import BaseStepContext


@dataclass
class ToTaskContext(BaseStepContext):
    """What each step reads and leaves for the next."""

    typed_params: ToTaskParams | None = None
    client: BackendClientProtocol | None = None
    hooks: TaskHooks | None = None  #: the user's hooks (the action)
    inline_hooks: frozenset[str] = frozenset()  #: hooks left built-in (run inline, not on a worker thread)
    plugin: Any = None  #: which plugin code annotates (part of the resume ledger's job key)
    backend: str | None = None  #: the backend's identity (part of the job key), read by ``initialize``
    project: dict[str, Any] | None = None
    data_collection: dict[str, Any] | None = None
    inference: InferenceTarget | None = None
    task_ids: list[int] | None = None
    batch_size: int = 1
    ledger: Ledger | None = None
    total_tasks: int = 0
    success_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    failures: list[TaskFailure] = field(default_factory=list)
    http: str | None = None  #: the annotate step's HTTP path (``aiohttp``, ``client``)
    record: RunRecord | None = None  #: the run record (proposals of a dry run; prior data for undo)
    run_id: str | None = None
    summary: dict[str, Any] | None = None  #: a dry run's merged proposal summary
