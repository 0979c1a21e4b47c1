"""``client_config``: the ``mcpServers`` entry an MCP client (Claude Desktop and others) needs to start the server.

The snippet names the absolute ``synapse`` executable of this installation and the absolute plugin
folder, so the client can start the server from any working directory. It carries no credentials:
the server reads them from its environment or from the config file ``synapse login`` writes.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from synapse_sdk.mcp.catalog import plugin_folder

__all__ = ['client_config', 'synapse_command']


def synapse_command() -> list[str]:
    """The command that runs ``synapse`` here: the executable beside this Python, else on PATH, else ``python -m``."""
    beside = Path(sys.executable).parent / ('synapse.exe' if os.name == 'nt' else 'synapse')
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which('synapse')
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, '-m', 'synapse_sdk.mcp']


def client_config(path: str | os.PathLike[str] = '.', *, name: str | None = None) -> dict[str, Any]:
    """``{"mcpServers": {name: {"command": ..., "args": [...]}}}`` for the plugin at ``path``.

    ``name`` defaults to ``synapse-<plugin code>``.
    """
    from synapse_sdk.plugins.config import load_config

    folder = plugin_folder(path)
    command, *prefix = synapse_command()
    args = [*prefix, 'serve', '--path', str(folder)] if prefix else ['mcp', 'serve', '--path', str(folder)]
    key = name or f'synapse-{load_config(folder).code}'
    return {'mcpServers': {key: {'command': command, 'args': args}}}
