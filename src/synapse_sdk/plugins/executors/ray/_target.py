"""Turning what a caller passes (an action key, an entrypoint, a class or an ``@action`` function) into a run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from synapse_sdk.exceptions import ActionDefinitionError, ValidationError
from synapse_sdk.plugins.executors.ray._runtime_env import PluginRuntime

__all__ = ['ResolvedAction', 'checked_params', 'entrypoint_of', 'params_json', 'resolve_action']


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


def checked_params(resolved: ResolvedAction, params: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    """Params as a plain dict, validated here first when the action class is at hand (fail fast)."""
    if resolved.action_cls is not None:
        from synapse_sdk.plugins.executors._run import validate_params

        return validate_params(resolved.action_cls, params).model_dump(mode='json')
    if isinstance(params, BaseModel):
        return params.model_dump(mode='json')
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ValidationError(
            f'Parameter validation failed: params must be an object (a dict), got {type(params).__name__}',
            {'errors': [{'loc': [], 'msg': 'params must be an object', 'type': 'dict_type'}]},
        )
    return dict(params)


def params_json(params: Mapping[str, Any]) -> str:
    """The params as JSON (the worker's wire format)."""
    try:
        return json.dumps(params, separators=(',', ':'))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f'Parameter validation failed: params must be JSON-serialisable to run on Ray: {exc}',
            {'errors': [{'loc': [], 'msg': str(exc), 'type': 'json_type'}]},
        ) from None
