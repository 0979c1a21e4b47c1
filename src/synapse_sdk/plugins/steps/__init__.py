"""Step workflows: ordered, weighted units of work with rollback."""

from synapse_sdk.plugins.steps.base import BaseStep, StepResult
from synapse_sdk.plugins.steps.context import BaseStepContext
from synapse_sdk.plugins.steps.orchestrator import Orchestrator
from synapse_sdk.plugins.steps.registry import StepRegistry
from synapse_sdk.plugins.steps.wrappers import LoggingStep, TimingStep, ValidationStep

__all__ = [
    'BaseStep',
    'BaseStepContext',
    'LoggingStep',
    'Orchestrator',
    'StepRegistry',
    'StepResult',
    'TimingStep',
    'ValidationStep',
]
