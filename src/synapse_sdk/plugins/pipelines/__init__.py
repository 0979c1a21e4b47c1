"""Chaining actions: each result feeds the next action's params; runs with checkpoints and resume."""

from synapse_sdk.plugins.pipelines.action_pipeline import ActionPipeline
from synapse_sdk.plugins.pipelines.local import LocalPipelineExecutor
from synapse_sdk.plugins.pipelines.models import ActionState, Checkpoint, PipelineProgress, PipelineStatus

__all__ = ['ActionPipeline', 'ActionState', 'Checkpoint', 'LocalPipelineExecutor', 'PipelineProgress', 'PipelineStatus']
