"""What an action sees at run time: :class:`RuntimeContext` and :class:`PluginEnvironment`."""

from synapse_sdk.plugins.context.env import PluginEnvironment
from synapse_sdk.plugins.context.runtime import BackendClientProtocol, RuntimeContext

__all__ = ['BackendClientProtocol', 'PluginEnvironment', 'RuntimeContext']
