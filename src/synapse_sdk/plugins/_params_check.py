"""Params keys an action's model does not know: dropped by pydantic, so reported as warnings.

A model that keeps extra keys (``extra='allow'``, as ``RawParams``) is never warned about, and one
that forbids them (``extra='forbid'``) already fails validation.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel

__all__ = ['unknown_param_warnings']


def unknown_param_warnings(model: type[BaseModel], params: Mapping[str, Any] | BaseModel | None) -> list[str]:
    """One message per key of ``params`` that ``model`` ignores, with the closest known field."""
    if not isinstance(params, Mapping) or model.model_config.get('extra') not in (None, 'ignore'):
        return []
    known = _accepted_keys(model)
    messages = []
    for key in params:
        if not isinstance(key, str) or key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        if close:
            messages.append(f"unknown parameter '{key}'; did you mean '{close[0]}'?")
        else:
            fields = ', '.join(model.model_fields) or 'none'
            messages.append(f"unknown parameter '{key}' is ignored; known parameters: {fields}")
    return messages


def _accepted_keys(model: type[BaseModel]) -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(name)
        if field.alias:
            keys.add(field.alias)
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                keys.add(choice)
            elif isinstance(choice, AliasPath) and choice.path and isinstance(choice.path[0], str):
                keys.add(choice.path[0])
    return keys
