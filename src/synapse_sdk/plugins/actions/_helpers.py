"""What the specialised base actions share: reaching the backend through ``ctx.client``."""

from __future__ import annotations

from typing import Any

from synapse_sdk.exceptions import ExecutionError


def require_client(action: Any, purpose: str) -> Any:
    """The run's backend client, or a clear error saying how to configure one."""
    client = action.ctx.client
    if client is None:
        raise ExecutionError(
            f'{purpose} needs a backend client, but none is configured. '
            'Run `synapse login` or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN'
        )
    return client


def call_client(action: Any, method: str, purpose: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``client.<method>``, with a clear error when the client cannot do it."""
    client = require_client(action, purpose)
    func = getattr(client, method, None)
    if func is None:
        raise ExecutionError(f'{purpose}: the configured backend client ({type(client).__name__}) has no {method}()')
    return func(*args, **kwargs)


def param_value(action: Any, *names: str) -> Any:
    """The first of ``names`` present on the action's params (None when absent)."""
    for name in names:
        if name in type(action.params).model_fields:
            return getattr(action.params, name)
    return None


def has_param(action: Any, *names: str) -> bool:
    """Whether the params model declares any of ``names``."""
    return any(name in type(action.params).model_fields for name in names)
