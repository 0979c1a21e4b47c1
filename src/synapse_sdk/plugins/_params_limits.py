"""Bounds on params input: nesting depth and size, checked before anything parses or validates them deeply.

Params nested 100,000 levels deep would otherwise end in a bare ``RecursionError`` somewhere inside
``json``, PyYAML or pydantic; a huge params text would be read whole. Both are refused here with a
:class:`~synapse_sdk.exceptions.ValidationError` naming the limit, where it was hit, and how to change it.

Limits (an environment variable raises one, for the rare plugin that needs more; it is read only when
the default is passed):

* ``MAX_PARAMS_DEPTH`` = 64 nested objects/lists (``SYNAPSE_PARAMS_MAX_DEPTH``);
* ``MAX_PARAMS_BYTES`` = 16 MiB of params text from the CLI (``SYNAPSE_PARAMS_MAX_BYTES``);
* ``MAX_PARAMS_ITEMS`` = 1,000,000 values in a params dict from the API (``SYNAPSE_PARAMS_MAX_ITEMS``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from synapse_sdk.exceptions import ValidationError

__all__ = [
    'MAX_PARAMS_BYTES',
    'MAX_PARAMS_DEPTH',
    'MAX_PARAMS_ITEMS',
    'check_params_shape',
    'format_loc',
    'load_params_text',
]

MAX_PARAMS_DEPTH = 64
MAX_PARAMS_BYTES = 16 * 1024 * 1024
MAX_PARAMS_ITEMS = 1_000_000
_ENV = {'depth': 'SYNAPSE_PARAMS_MAX_DEPTH', 'bytes': 'SYNAPSE_PARAMS_MAX_BYTES', 'items': 'SYNAPSE_PARAMS_MAX_ITEMS'}


def _limit(kind: str, default: int) -> int:
    raw = os.environ.get(_ENV[kind], '').strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f'{_ENV[kind]} must be a whole number, got {raw!r}') from None
    if value < 1:
        raise ValidationError(f'{_ENV[kind]} must be at least 1, got {value}')
    return value


def format_loc(loc: Sequence[Any]) -> str:
    """``a.b.0.c`` (each part cut to 40 characters); ``params`` for the top level."""
    parts = [str(p) if len(str(p)) <= 40 else f'{str(p)[:37]}...' for p in loc]
    return '.'.join(parts) or 'params'


def _error(message: str, loc: Sequence[Any], kind: str) -> ValidationError:
    text = f'Parameter validation failed: {message}'
    return ValidationError(text, {'errors': [{'loc': list(loc), 'msg': message, 'type': kind}]})


def _too_deep(loc: Sequence[Any], limit: int) -> ValidationError:
    return _error(
        f'params are nested deeper than {limit} levels at {format_loc(loc)!r}; flatten them '
        f'(or raise the limit with {_ENV["depth"]})',
        loc,
        'params_too_deep',
    )


def check_params_shape(params: Any, *, max_depth: int | None = None, max_items: int | None = None) -> None:
    """Refuse params nested deeper than ``max_depth`` or holding more than ``max_items`` values.

    Walks iteratively (never recursion), so any input is safe to check.
    """
    depth_limit = max_depth or MAX_PARAMS_DEPTH
    item_limit = max_items or MAX_PARAMS_ITEMS
    stack: list[tuple[Any, tuple[Any, ...]]] = [(params, ())]
    seen = 0
    while stack:
        value, loc = stack.pop()
        seen += 1
        if seen > item_limit and (max_items or seen > (item_limit := _limit('items', MAX_PARAMS_ITEMS))):
            raise _error(
                f'params hold more than {item_limit:,} values (at {format_loc(loc)!r}); pass large data as a '
                f'file path or dataset id instead (or raise the limit with {_ENV["items"]})',
                loc,
                'params_too_large',
            )
        if isinstance(value, Mapping):
            children: Any = value.items()
        elif isinstance(value, list | tuple):
            children = enumerate(value)
        else:
            continue
        if len(loc) >= depth_limit and len(value):
            if max_depth or len(loc) >= (depth_limit := _limit('depth', MAX_PARAMS_DEPTH)):
                raise _too_deep(loc, depth_limit)
        stack.extend((child, (*loc, key)) for key, child in children)


def load_params_text(text: str | bytes, source: str = '--params', fmt: str = 'json') -> dict[str, Any]:
    """Params from JSON (or YAML, ``fmt='yaml'``) text, size and depth checked first.

    Raises:
        ValidationError: the text is over the size limit, nested too deep (naming the path), not
            valid JSON/YAML, or not an object.
    """
    size = len(text.encode('utf-8') if isinstance(text, str) else text)
    size_limit = MAX_PARAMS_BYTES if size <= MAX_PARAMS_BYTES else _limit('bytes', MAX_PARAMS_BYTES)
    if size > size_limit:
        raise _error(
            f'{source} is {size:,} bytes, over the {size_limit:,}-byte limit; pass large data as a file path '
            f'or dataset id instead (or raise the limit with {_ENV["bytes"]})',
            [],
            'params_too_large',
        )
    depth_limit = _limit('depth', MAX_PARAMS_DEPTH)
    raw = text.decode('utf-8') if isinstance(text, bytes) else text
    try:
        value = _parse(raw, source, fmt, depth_limit)
    except RecursionError:  # deeper than the interpreter's stack: find where the limit was passed
        raise _too_deep(_deep_loc(raw, fmt, depth_limit), depth_limit) from None
    if not isinstance(value, dict):
        raise _error(
            f'{source} must be an object like {{"name": "value"}}, got {type(value).__name__}', [], 'dict_type'
        )
    check_params_shape(value, max_depth=depth_limit)
    return value


def _parse(raw: str, source: str, fmt: str, depth_limit: int) -> Any:
    if fmt == 'yaml':
        import yaml

        _yaml_depth(raw, depth_limit)  # PyYAML composes recursively: check the depth on its events first
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise _error(f'{source} is not valid YAML: {exc}', [], 'yaml_invalid') from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _error(
            f'{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}', [], 'json_invalid'
        ) from None


def _deep_loc(raw: str, fmt: str, limit: int) -> list[Any]:
    if fmt == 'yaml':
        try:
            _yaml_depth(raw, limit)
        except ValidationError as exc:
            return list(exc.details['errors'][0]['loc'])
        return []
    return _json_deep_loc(raw, limit)


def _json_deep_loc(raw: str, limit: int) -> list[Any]:
    """The path (keys and indexes) at which JSON text first nests deeper than ``limit``."""
    stack: list[list[Any]] = []  # per open container: [kind, key or index]
    last_string: str | None = None
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == '"':
            end = i + 1
            while end < n and raw[end] != '"':
                end += 2 if raw[end] == '\\' else 1
            last_string = raw[i + 1 : end]
            i = end + 1
            continue
        if ch in '{[':
            if len(stack) >= limit:
                return [entry[1] for entry in stack]
            stack.append(['obj', None] if ch == '{' else ['arr', 0])
        elif ch in '}]' and stack:
            stack.pop()
        elif ch == ':' and stack:
            stack[-1][1] = last_string
        elif ch == ',' and stack and stack[-1][0] == 'arr':
            stack[-1][1] += 1
        i += 1
    return [entry[1] for entry in stack]


def _yaml_depth(raw: str, limit: int) -> None:
    """Walk PyYAML's (iterative) event stream and refuse nesting deeper than ``limit``."""
    import yaml

    stack: list[list[Any]] = []  # per open node: [kind, key or index, expecting a key]
    try:
        for event in yaml.parse(raw, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                _yaml_child(stack)
                if len(stack) >= limit:
                    raise _too_deep([entry[1] for entry in stack], limit)
                kind = 'map' if isinstance(event, yaml.MappingStartEvent) else 'seq'
                stack.append([kind, None if kind == 'map' else -1, True])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                stack.pop()
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                if stack and stack[-1][0] == 'map' and stack[-1][2]:
                    stack[-1][1], stack[-1][2] = getattr(event, 'value', None), False
                else:
                    _yaml_child(stack)
    except yaml.YAMLError:
        return  # yaml.safe_load reports it with its position


def _yaml_child(stack: list[list[Any]]) -> None:
    """A value starts in the innermost node: a sequence moves to its next index, a mapping expects a key."""
    if not stack:
        return
    if stack[-1][0] == 'seq':
        stack[-1][1] += 1
    else:
        stack[-1][2] = True
