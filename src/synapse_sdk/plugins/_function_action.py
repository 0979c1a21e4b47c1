"""Function actions as action classes, so every executor runs both kinds the same way."""

from __future__ import annotations

import types
from typing import Any

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.plugins.action import BaseAction, NoResult, RawParams
from synapse_sdk.plugins.decorators import ActionSpec, get_action_spec

_CLASS_ATTR = '__synapse_action_class__'


def action_class_for(target: object) -> type[BaseAction[Any]]:
    """The action class of ``target``: a ``BaseAction`` subclass as is, or an ``@action`` function wrapped."""
    if isinstance(target, type) and issubclass(target, BaseAction):
        if getattr(target, '__abstractmethods__', None):
            missing = ', '.join(sorted(target.__abstractmethods__))
            raise ActionDefinitionError(f'{target.__name__} cannot run: it does not implement {missing}')
        return target
    spec = get_action_spec(target)
    if spec is not None:
        cached = getattr(spec.func, _CLASS_ATTR, None)
        if cached is None:
            cached = _build_class(spec)
            setattr(spec.func, _CLASS_ATTR, cached)
        return cached
    raise ActionDefinitionError(
        f'{target!r} is not an action: subclass synapse_sdk.plugins.BaseAction or decorate a function with @action'
    )


def is_action(target: object) -> bool:
    """Whether ``target`` is a concrete action class or an ``@action`` function."""
    if isinstance(target, type):
        return issubclass(target, BaseAction) and target is not BaseAction and not _is_abstract(target)
    return get_action_spec(target) is not None


def _is_abstract(cls: type) -> bool:
    return bool(getattr(cls, '__abstractmethods__', None)) or bool(getattr(cls, '__parameters__', ()))


def _build_class(spec: ActionSpec) -> type[BaseAction[Any]]:
    params_model = spec.params or RawParams
    generic_base: Any = BaseAction  # subscripted with a model known only at run time, not a static type
    func = spec.func
    takes_model = spec.params is not None

    def execute(self: BaseAction[Any]) -> Any:
        params = self.params if takes_model else self.params.model_dump()
        return func(params, self.ctx)

    namespace = {
        'action_name': spec.name,
        'description': spec.description,
        'category': spec.category,
        'result_model': spec.result or NoResult,
        'execute': execute,
        '__module__': getattr(func, '__module__', __name__),
        '__qualname__': getattr(func, '__qualname__', spec.name),
        '__doc__': spec.description,
        'function': staticmethod(func),
    }
    return types.new_class(func.__name__, (generic_base[params_model],), exec_body=lambda ns: ns.update(namespace))
