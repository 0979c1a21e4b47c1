"""HTTP clients of the platform API and of agents (``synapse_sdk.connect.create_backend_client()`` picks the target)."""

from synapse_sdk.clients.agent import AgentClient, AsyncAgentClient
from synapse_sdk.clients.backend import AsyncBackendClient, BackendClient
from synapse_sdk.clients.base import RetryPolicy
from synapse_sdk.exceptions import ClientError

__all__ = [
    'AgentClient',
    'AsyncAgentClient',
    'AsyncBackendClient',
    'BackendClient',
    'ClientError',
    'RetryPolicy',
]
