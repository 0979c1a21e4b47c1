"""The public surface of ``synapse_sdk.clients`` and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import synapse_sdk.clients


def test_exported_members() -> None:
    assert synapse_sdk.clients.__all__ == [
        'AgentClient',
        'AsyncAgentClient',
        'AsyncBackendClient',
        'BackendClient',
        'ClientError',
        'RetryPolicy',
        'create_backend_client',
    ]


def test_importing_clients_loads_no_server_or_plugin_stack() -> None:
    code = (
        'import sys, synapse_sdk.clients; '
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'numpy', 'ray', 'synapse_sdk.local', 'synapse_sdk.plugins') "
        'if m in sys.modules))'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'
