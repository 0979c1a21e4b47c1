"""``ToolSpec``: one MCP tool as plain data, and how its results and errors are made safe to show.

A tool is a name, a JSON schema for its arguments, hints on its side effects and a synchronous
``call``. Nothing here imports the ``mcp`` package: :mod:`synapse_sdk.mcp.server` turns specs into
MCP tools, so what a tool does is testable without a transport.

Every value a tool returns, and every error message, passes through :func:`safe_value` /
:func:`error_text`: tokens known to this process (:func:`synapse_sdk.utils.redact.add_secret`,
which every HTTP client of the SDK calls with its own token) and credential-looking text are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel

from synapse_sdk.utils.redact import redact

__all__ = ['TOOL_NAME', 'ToolHints', 'ToolSpec', 'error_text', 'result_text', 'safe_value', 'structured']

#: The names MCP clients accept for a tool.
TOOL_NAME = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
_LONG_MESSAGE = 400  # longer messages keep their line breaks (as the CLI prints them)


@dataclass(frozen=True, slots=True)
class ToolHints:
    """MCP tool annotations, each set on purpose (MCP's defaults assume the worst: writes, destroys, repeats).

    Attributes:
        read_only: the tool changes nothing (``readOnlyHint``).
        destructive: a run may overwrite or delete what exists (``destructiveHint``; meaningful when
            not read-only).
        idempotent: a second identical call has no further effect (``idempotentHint``).
        open_world: the tool may reach services other than the configured backend (``openWorldHint``).
    """

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool: ``call(arguments)`` returns a JSON-able value or raises an error whose text is shown."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    hints: ToolHints
    call: Callable[[dict[str, Any]], Any]

    def __post_init__(self) -> None:
        if not TOOL_NAME.match(self.name):
            raise ValueError(f'tool name {self.name!r}: use 1 to 64 letters, digits, _ or -')
        if self.input_schema.get('type') != 'object':
            raise ValueError(f'tool {self.name!r}: its input schema must be a JSON object schema (type: object)')


def safe_value(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """``value`` as JSON data (models dumped, enums as values), every string redacted."""
    return _redacted(_jsonable(value), secrets)


def structured(value: Any) -> dict[str, Any]:
    """MCP's ``structuredContent`` must be an object: a dict stays, anything else is ``{"result": value}``."""
    return value if isinstance(value, dict) else {'result': value}


def result_text(value: Any) -> str:
    """The text content of a result: its JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def error_text(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The message of a failed call, as ``synapse`` prints it after ``Error:`` (one line unless long), redacted.

    Errors that are not the SDK's or a bad value (a bug in a plugin, say) are prefixed with their type.
    """
    from synapse_sdk.exceptions import SynapseError

    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, SynapseError | ValueError | LookupError | OSError):
        text = f'{type(exc).__name__}: {text}'
    if len(text) < _LONG_MESSAGE:
        text = ' '.join(text.split('\n'))
    return redact(text, secrets)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode='json')
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.loads(json.dumps(value, default=str))


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(key, secrets): _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    return value
