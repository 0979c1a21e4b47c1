"""Inference actions."""

from synapse_sdk.plugins.actions.inference.action import BaseInferenceAction, InferenceContext, InferenceProgress

__all__ = ['BaseInferenceAction', 'InferenceContext', 'InferenceProgress']
