"""Pre-annotation: fill tasks with annotations from JSON files or a served model."""

from synapse_sdk.plugins.actions.to_task.action import ToTaskAction
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.models import (
    TaskFailure,
    TaskProcessStatus,
    ToTaskMethod,
    ToTaskParams,
    ToTaskResult,
)

__all__ = [
    'TaskFailure',
    'TaskProcessStatus',
    'ToTaskAction',
    'ToTaskContext',
    'ToTaskMethod',
    'ToTaskParams',
    'ToTaskResult',
]
