"""Client of an agent's API."""

from synapse_sdk.clients.agent.client import AgentClient, AsyncAgentClient

__all__ = ['AgentClient', 'AsyncAgentClient']
