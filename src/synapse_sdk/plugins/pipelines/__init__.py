"""Chaining actions: each result feeds the next action's params."""

from synapse_sdk.plugins.pipelines.action_pipeline import ActionPipeline

__all__ = ['ActionPipeline']
