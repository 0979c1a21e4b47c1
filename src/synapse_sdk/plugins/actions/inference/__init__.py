"""Inference: run a trained model (``BaseInferenceAction``), serve it (``BaseServeDeployment``), deploy it.

Importing this package does not import Ray: Serve is imported where a deployment runs.
"""

from synapse_sdk.plugins.actions.inference.action import BaseInferenceAction, InferenceContext, InferenceProgress
from synapse_sdk.plugins.actions.inference.deployment import BaseDeploymentAction, DeploymentParams, DeploymentResult
from synapse_sdk.plugins.actions.inference.serve import BaseServeDeployment

__all__ = [
    'BaseDeploymentAction',
    'BaseInferenceAction',
    'BaseServeDeployment',
    'DeploymentParams',
    'DeploymentResult',
    'InferenceContext',
    'InferenceProgress',
]
