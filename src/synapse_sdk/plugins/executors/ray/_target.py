"""Turning what a caller passes (an action key, an entrypoint, a class or an ``@action`` function) into a run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from synapse_sdk.exceptions import ActionDefinitionError, ValidationError
from synapse_sdk.plugins._params_limits import check_params_shape
from synapse_sdk.plugins.executors.ray._runtime_env import PluginRuntime
from synapse_sdk.utils.redact import add_secret

__all__ = ['ResolvedAction', 'checked_params', 'entrypoint_of', 'params_json', 'resolve_action', 'revealed_dump']


@dataclass(frozen=True)
class ResolvedAction:
    """An action ready to ship: its entrypoint (when importable by name) and a label for messages."""

    label: str
    entrypoint: str | None
    action: Any | None  # the class or function, when the caller passed one
    action_cls: Any | None


def entrypoint_of(action: Any) -> str | None:
    """``module.Name`` of a top-level class or function; None when it cannot be imported by name."""
    module = getattr(action, '__module__', None)
    qualname = getattr(action, '__qualname__', None)
    if not module or not qualname or module == '__main__' or '.' in qualname or '<' in qualname:
        return None
    return f'{module}.{qualname}'


def resolve_action(target: Any, runtime: PluginRuntime) -> ResolvedAction:
    """An action key of the plugin's config.yaml, an entrypoint string, a class or an ``@action`` function."""
    if isinstance(target, str):
        actions = getattr(runtime.config, 'actions', None) or {}
        if target in actions or ('.' not in target and ':' not in target):
            return ResolvedAction(target, runtime.entrypoint_for(target), None, None)
        from synapse_sdk.plugins.config import normalize_entrypoint

        try:
            entrypoint = normalize_entrypoint(target)
        except ValueError as exc:
            raise ActionDefinitionError(f'Invalid entrypoint {target!r}: {exc}') from None
        return ResolvedAction(entrypoint, entrypoint, None, None)
    from synapse_sdk.plugins._function_action import action_class_for

    action_cls = action_class_for(target)
    name: str = getattr(target, '__name__', repr(target))
    label = action_cls.action_name or name
    return ResolvedAction(label, entrypoint_of(target), target, action_cls)


def checked_params(
    resolved: ResolvedAction,
    params: Mapping[str, Any] | BaseModel | None,
    *,
    allow_unknown: bool | None = None,
    json_ready: bool = False,
) -> dict[str, Any]:
    """Params as a plain dict to ship, validated here first when the action class is at hand (fail fast).

    A mapping ships as given (the worker validates exactly what was checked here); a model ships as
    its dump with secret fields (``SecretStr``) revealed, so the action receives their real values
    (they travel only in call arguments or the job's own package, never in metadata). The values of
    secret fields are registered for redaction in this process. ``json_ready`` turns values JSON
    cannot hold (a ``datetime`` given through the API) into their JSON form.
    """
    if resolved.action_cls is not None:
        from synapse_sdk.plugins.executors._run import validate_params

        validated = validate_params(resolved.action_cls, params, allow_unknown=allow_unknown, warnings=[])
        add_secret(*_secret_values(validated))
        if isinstance(params, Mapping):
            return _jsonable(dict(params), validated) if json_ready else dict(params)
        return revealed_dump(validated)
    if isinstance(params, BaseModel):
        return revealed_dump(params)
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ValidationError(
            f'Parameter validation failed: params must be an object (a dict), got {type(params).__name__}',
            {'errors': [{'loc': [], 'msg': 'params must be an object', 'type': 'dict_type'}]},
        )
    check_params_shape(params)
    return dict(params)


def _jsonable(raw: dict[str, Any], validated: BaseModel) -> dict[str, Any]:
    try:
        json.dumps(raw)
    except (TypeError, ValueError):
        return revealed_dump(validated)
    return raw


def revealed_dump(model: BaseModel) -> dict[str, Any]:
    """``model``'s JSON-ready dump (by alias) with ``SecretStr``/``SecretBytes`` values revealed."""
    from pydantic_core import to_jsonable_python

    data = _reveal(model.model_dump(mode='python', by_alias=True))
    out: dict[str, Any] = to_jsonable_python(data)
    return out


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        secret = value.get_secret_value()
        return secret.decode('utf-8', 'replace') if isinstance(secret, bytes) else secret
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_reveal(v) for v in value]
    return value


def _secret_values(model: BaseModel) -> list[str]:
    found: list[str] = []
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            stack.extend(getattr(value, name, None) for name in type(value).model_fields)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
    return [v for v in found if v]


def params_json(params: Mapping[str, Any]) -> str:
    """The params as JSON (the worker's wire format)."""
    try:
        return json.dumps(params, separators=(',', ':'))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f'Parameter validation failed: params must be JSON-serialisable to run on Ray: {exc}',
            {'errors': [{'loc': [], 'msg': str(exc), 'type': 'json_type'}]},
        ) from None
