"""The ``deployment`` action: puts :class:`plugin.serve.FaceDetector` on Ray Serve with the release's options."""

from synapse_sdk.plugins.actions.inference import BaseDeploymentAction, DeploymentParams


class Deploy(BaseDeploymentAction[DeploymentParams]):
    """Nothing to override: the app is named ``face-detector`` and answers ``POST /face-detector/``."""
