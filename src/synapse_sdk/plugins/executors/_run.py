"""The one way every executor runs an action: validate, build context, run, check, finish."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pydantic
from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, SynapseError, ValidationError
from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.utils.redact import redact

_log = logging.getLogger('synapse_sdk')


def validate_params(action_cls: type[BaseAction[Any]], params: Mapping[str, Any] | BaseModel | None) -> BaseModel:
    """Params as the action's model; every bad field is named in one ``ValidationError``."""
    model = action_cls.params_model
    if isinstance(params, model):
        return params
    if isinstance(params, BaseModel):
        params = params.model_dump()
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationError(
            f'Parameter validation failed: params must be an object (a dict), got {type(params).__name__}',
            {'errors': [{'loc': [], 'msg': 'params must be an object', 'type': 'dict_type'}]},
        )
    try:
        return model.model_validate(dict(params))
    except pydantic.ValidationError as exc:
        raise params_error(exc) from None


def params_error(exc: pydantic.ValidationError) -> ValidationError:
    """Our ValidationError for a pydantic one: ``Parameter validation failed: <field>: <msg>; ...``."""
    errors = [
        {'loc': list(err['loc']), 'msg': err['msg'], 'type': err['type']}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    parts = [f'{".".join(str(p) for p in e["loc"]) or "params"}: {e["msg"]}' for e in errors]
    return ValidationError('Parameter validation failed: ' + '; '.join(parts), {'errors': errors})


def validate_result(action_cls: type[BaseAction[Any]], result: Any, ctx: RuntimeContext) -> None:
    """Check the result against ``result_model``; a mismatch only warns."""
    model = action_cls.result_model
    if model is NoResult or not (isinstance(model, type) and issubclass(model, BaseModel)):
        return
    if isinstance(result, model):
        return
    try:
        data = result.model_dump() if isinstance(result, BaseModel) else result
        model.model_validate(data)
    except pydantic.ValidationError as exc:
        parts = [
            f'{".".join(str(p) for p in e["loc"]) or "result"}: {e["msg"]}'
            for e in exc.errors(include_url=False, include_input=False)
        ]
        message = f'Result validation warning for {model.__name__}: ' + '; '.join(parts)
        _log.warning(message)
        if not ctx.logger.finished:
            ctx.logger.warning(message)


def run_action(action_cls: type[BaseAction[Any]], params: BaseModel, ctx: RuntimeContext) -> Any:
    """Run a validated action in ``ctx``; the logger is always finished afterwards.

    Our own errors propagate unchanged; anything else becomes ``ExecutionError`` with the
    original on ``__cause__``.
    """
    try:
        instance = action_cls(params, ctx)
        result = instance.run()
        validate_result(action_cls, result, ctx)
        return result
    except SynapseError:
        raise
    except SystemExit as exc:  # sys.exit() in an action must not end the caller's process silently
        raise ExecutionError(
            f'Action execution failed: the action called sys.exit({exc.code!r}); '
            'raise an exception to report a failure',
            {'action': action_cls.action_name or action_cls.__name__, 'exception': 'SystemExit'},
        ) from exc
    except Exception as exc:
        detail = redact(str(exc)) or type(exc).__name__
        raise ExecutionError(
            f'Action execution failed: {detail}',
            {'action': action_cls.action_name or action_cls.__name__, 'exception': type(exc).__name__},
        ) from exc
    finally:
        try:
            if not ctx.logger.finished:
                ctx.logger.finish()
        finally:
            ctx.close()
