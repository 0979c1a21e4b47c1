from synapse_sdk.plugins.actions.inference import BaseDeploymentAction, DeploymentParams


class Deploy(BaseDeploymentAction[DeploymentParams]):
    """Deploys ``plugin.serve.Echo`` with the release's options."""
