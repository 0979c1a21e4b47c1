"""``synapse mcp``: a plugin's actions and its backend as tools of an MCP server (the ``mcp`` extra).

``plugin_tools`` builds the tools as plain data (no ``mcp`` import); ``serve`` offers them over stdio
with the official ``mcp`` package; ``client_config`` is the snippet ``synapse mcp init`` prints.
"""

from synapse_sdk.mcp.action_tools import WritePolicy, write_policy
from synapse_sdk.mcp.backend_tools import BackendHandle
from synapse_sdk.mcp.catalog import plugin_folder, plugin_tools
from synapse_sdk.mcp.client_config import client_config
from synapse_sdk.mcp.server import build_server, serve
from synapse_sdk.mcp.tools import ToolHints, ToolSpec

__all__ = [
    'BackendHandle',
    'ToolHints',
    'ToolSpec',
    'WritePolicy',
    'build_server',
    'client_config',
    'plugin_folder',
    'plugin_tools',
    'serve',
    'write_policy',
]
