"""The MCP server: tool specs served with the official ``mcp`` package (its low-level ``Server``), over stdio.

The low-level server is used because each tool's input schema is given, not derived from a Python
signature: it is the action's params schema. Arguments reach the tool as sent (the server does not
re-validate them against the schema), so the action's own validation names every bad field.

A tool that fails answers a result with ``isError`` and the error's message; the server goes on.
Results are JSON both as ``structuredContent`` and as text. While stdio is served, stray output of
plugin code goes to stderr, not into the protocol stream (``mcp.server.stdio`` rebinds fd 1).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from synapse_sdk.exceptions import MissingDependencyError
from synapse_sdk.mcp.tools import ToolSpec, error_text, result_text, safe_value, structured

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

__all__ = ['build_server', 'run_stdio', 'serve']

_INSTALL = "The MCP server needs the mcp package (2.3 or later): pip install 'synapse-sdk[mcp]'"


def _mcp(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(f'{_INSTALL} ({exc})') from exc


def serve(path: str | os.PathLike[str] = '.') -> None:
    """``synapse mcp serve``: the tools of the plugin at ``path`` and of the configured backend, over stdio."""
    from synapse_sdk.clients.credentials import resolve_credentials
    from synapse_sdk.mcp.backend_tools import BackendHandle
    from synapse_sdk.mcp.catalog import plugin_folder, plugin_tools
    from synapse_sdk.plugins.config import load_config
    from synapse_sdk.utils.redact import add_secret

    _mcp('mcp.server.lowlevel')  # before any plugin module is imported: a missing extra is the first error
    folder = plugin_folder(path)
    token = resolve_credentials()['access_token']
    add_secret(token)
    backend = BackendHandle()
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol stream: prints at import go to stderr
        tools = plugin_tools(folder, backend=backend)
    server = build_server(tools, name=f'synapse-{load_config(folder).code}', secrets=(token,) if token else ())
    try:
        run_stdio(server)
    finally:
        backend.close()


def build_server(tools: Sequence[ToolSpec], *, name: str = 'synapse', secrets: tuple[str, ...] = ()) -> Server[Any]:
    """An ``mcp.server.lowlevel.Server`` offering ``tools``; ``secrets`` (and known tokens) are masked in replies."""
    lowlevel = _mcp('mcp.server.lowlevel')
    types = _mcp('mcp.types')
    anyio = _mcp('anyio')
    from synapse_sdk import __version__

    by_name = {tool.name: tool for tool in tools}
    listing = types.ListToolsResult(tools=[_tool(types, tool) for tool in tools])

    async def list_tools(ctx: Any, params: Any) -> Any:
        return listing

    async def call_tool(ctx: Any, params: Any) -> Any:
        tool = by_name.get(params.name)
        if tool is None:
            known = ', '.join(by_name) or 'none'
            return _error(types, f"Unknown tool '{params.name}'; available tools: {known}")
        arguments = dict(params.arguments or {})
        try:
            value = await anyio.to_thread.run_sync(tool.call, arguments)
        except Exception as exc:  # a failed tool is a result the model can read, never a dead server
            return _error(types, error_text(exc, secrets))
        data = structured(safe_value(value, secrets))
        return types.CallToolResult(content=[types.TextContent(text=result_text(data))], structured_content=data)

    server: Server[Any] = lowlevel.Server(
        name,
        version=__version__,
        instructions=(
            'Tools of a Synapse plugin and its backend. Actions that write run as dry runs unless '
            'called with "dry_run": false.'
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    return server


def run_stdio(server: Server[Any]) -> None:
    """Serve ``server`` over this process's stdin and stdout until the client closes stdin."""
    stdio = _mcp('mcp.server.stdio')
    anyio = _mcp('anyio')

    async def main() -> None:
        async with stdio.stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def _tool(types: Any, tool: ToolSpec) -> Any:
    hints = tool.hints
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(
            title=tool.title,
            read_only_hint=hints.read_only,
            destructive_hint=hints.destructive,
            idempotent_hint=hints.idempotent,
            open_world_hint=hints.open_world,
        ),
    )


def _error(types: Any, message: str) -> Any:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)
