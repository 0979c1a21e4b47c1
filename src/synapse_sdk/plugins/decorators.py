"""The ``@action`` decorator for function-based actions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.exceptions import ActionDefinitionError

F = TypeVar('F', bound=Callable[..., Any])

__all__ = ['ActionSpec', 'action', 'get_action_spec']

SPEC_ATTR = '__synapse_action__'


@dataclass(frozen=True)
class ActionSpec:
    """Everything the decorator knows about a function action."""

    name: str
    description: str
    params: type[BaseModel] | None
    result: type[BaseModel] | None
    category: PluginCategory | None
    func: Callable[..., Any]


@overload
def action(name: F, /) -> F: ...


@overload
def action(
    name: str | None = None,
    description: str = '',
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | str | None = None,
) -> Callable[[F], F]: ...


def action(
    name: Any = None,
    description: str = '',
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | str | None = None,
) -> Any:
    """Mark ``func(params, ctx)`` as an action; the function is returned unchanged.

    It gains ``_is_action``, ``_action_name`` (default: the function name),
    ``_action_description``, ``_action_params``, ``_action_result`` and ``_action_category``.
    ``@action`` may also be used without parentheses.
    """
    if callable(name) and not isinstance(name, type):
        return action()(name)
    if name is not None and not isinstance(name, str):
        raise ActionDefinitionError(f'@action(name=...) must be a string, got {type(name).__name__}')
    _check_model('params', params)
    _check_model('result', result)
    resolved_category = _category(category)

    def decorate(func: F) -> F:
        if not callable(func) or isinstance(func, type):
            raise ActionDefinitionError(f'@action decorates functions, got {func!r}; for classes subclass BaseAction')
        _check_signature(func)
        spec = ActionSpec(
            name=name or func.__name__,
            description=description or inspect.getdoc(func) or '',
            params=params,
            result=result,
            category=resolved_category,
            func=func,
        )
        setattr(func, SPEC_ATTR, spec)
        func._is_action = True  # type: ignore[attr-defined]
        func._action_name = spec.name  # type: ignore[attr-defined]
        func._action_description = spec.description  # type: ignore[attr-defined]
        func._action_params = params  # type: ignore[attr-defined]
        func._action_result = result  # type: ignore[attr-defined]
        func._action_category = resolved_category  # type: ignore[attr-defined]
        return func

    return decorate


def get_action_spec(obj: object) -> ActionSpec | None:
    """The :class:`ActionSpec` of a decorated function, else None."""
    spec = getattr(obj, SPEC_ATTR, None)
    return spec if isinstance(spec, ActionSpec) else None


def _check_model(label: str, model: object) -> None:
    if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ActionDefinitionError(
            f'@action({label}=...) must be a pydantic BaseModel subclass, got {model!r}. '
            f'Define `class MyModel(BaseModel): ...` and pass {label}=MyModel'
        )


def _category(category: PluginCategory | str | None) -> PluginCategory | None:
    if category is None:
        return None
    try:
        return PluginCategory(category)
    except ValueError:
        valid = ', '.join(c.value for c in PluginCategory)
        raise ActionDefinitionError(
            f'@action(category={category!r}) is not a plugin category; use one of: {valid}'
        ) from None


def _check_signature(func: Callable[..., Any]) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values())
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    required_kwonly = [
        p
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]
    if (len(positional) < 2 and not has_varargs) or len(required) > 2 or required_kwonly:
        raise ActionDefinitionError(
            f'@action function {func.__qualname__}{signature} must take exactly (params, ctx): '
            'the validated params first, the RuntimeContext second'
        )
