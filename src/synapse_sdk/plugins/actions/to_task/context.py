"""State shared by the ToTask steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.steps import BaseStepContext

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.action import ToTaskAction
    from synapse_sdk.plugins.actions.to_task.ledger import Ledger
    from synapse_sdk.plugins.actions.to_task.models import ToTaskParams


@dataclass
class ToTaskContext(BaseStepContext):
    """What each step reads and leaves for the next."""

    action: ToTaskAction | None = None
    typed_params: ToTaskParams | None = None
    client: Any = None
    project: dict[str, Any] | None = None
    data_collection: dict[str, Any] | None = None
    inference: dict[str, Any] | None = None
    task_ids: list[int] | None = None
    batch_size: int = 1
    ledger: Ledger | None = None
    total_tasks: int = 0
    success_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
