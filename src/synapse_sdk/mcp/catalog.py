"""``plugin_tools``: every tool ``synapse mcp serve`` offers for one plugin folder."""

from __future__ import annotations

import os
from pathlib import Path

from synapse_sdk.exceptions import ConfigError
from synapse_sdk.mcp.action_tools import action_tools
from synapse_sdk.mcp.backend_tools import BackendHandle, backend_tools
from synapse_sdk.mcp.tools import ToolSpec

__all__ = ['plugin_folder', 'plugin_tools']


def plugin_folder(path: str | os.PathLike[str] = '.') -> Path:
    """The absolute plugin folder at ``path`` (a folder holding ``config.yaml``, or that file)."""
    location = Path(path).expanduser().resolve()
    folder = location.parent if location.name == 'config.yaml' else location
    if not (folder / 'config.yaml').is_file():
        raise ConfigError(
            f'No plugin at {folder}: config.yaml not found; run in a plugin folder or pass --path DIR',
            {'path': str(folder)},
        )
    return folder


def plugin_tools(path: str | os.PathLike[str] = '.', *, backend: BackendHandle | None = None) -> list[ToolSpec]:
    """A tool per action of the plugin at ``path``, then the backend's tools (``backend``: the configured one).

    Raises:
        ConfigError: no plugin there, or an action's tool name is taken by another tool.
    """
    from synapse_sdk.plugins.discovery import PluginDiscovery

    folder = plugin_folder(path)
    tools = [*action_tools(PluginDiscovery.from_path(folder)), *backend_tools(backend or BackendHandle(), folder)]
    seen: dict[str, ToolSpec] = {}
    for tool in tools:
        if tool.name in seen:
            raise ConfigError(
                f"Two tools are named '{tool.name}' ({seen[tool.name].title} and {tool.title}): "
                'rename the action in config.yaml',
                {'tool': tool.name},
            )
        seen[tool.name] = tool
    return tools
