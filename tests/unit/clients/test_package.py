"""The public surface of ``synapse_sdk.clients`` and what importing it costs."""

from __future__ import annotations

import synapse_sdk.clients


def test_exported_members() -> None:
    assert synapse_sdk.clients.__all__ == [
        'AgentClient',
        'AsyncAgentClient',
        'AsyncBackendClient',
        'BackendClient',
        'ClientError',
        'RetryPolicy',
    ]
