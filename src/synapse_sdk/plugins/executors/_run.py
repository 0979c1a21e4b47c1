"""The one way every executor runs an action: validate, build context, run, check, finish."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, SynapseError, ValidationError
from synapse_sdk.plugins._params_check import ParamProblem, allow_unknown_default, inspect_params, relaxed_warning
from synapse_sdk.plugins._params_limits import check_params_shape, format_loc
from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.utils.redact import redact

_log = logging.getLogger('synapse_sdk')


def validate_params(
    action_cls: type[BaseAction[Any]],
    params: Mapping[str, Any] | BaseModel | None,
    *,
    allow_unknown: bool | None = None,
    warnings: list[str] | None = None,
) -> BaseModel:
    """Params as the action's model; every problem is named in one ``ValidationError``.

    Params are refused when nested too deep or too large, when a key is unknown (with the closest
    known key: ``unknown param 'projet': did you mean 'project'?``) or a boolean is given for a
    number. ``allow_unknown`` (default: ``SYNAPSE_ALLOW_UNKNOWN_PARAMS``) relaxes unknown keys to
    a warning, appended to ``warnings``.
    """
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
    check_params_shape(params)
    problems = inspect_params(model, params)
    relaxed = bool(problems) and allow_unknown_default(allow_unknown)
    hard = [p for p in problems if p.kind != 'unknown_param' or p.forbidden or not relaxed]
    try:
        validated = model.model_validate(dict(params))
    except pydantic.ValidationError as exc:
        raise params_error(exc, hard) from None
    if hard:
        raise _combined(hard, [])
    message = relaxed_warning(problems) if relaxed else None
    if message is not None:
        if warnings is None:
            _log.warning(message)
        else:
            warnings.append(message)
    return validated


def params_error(exc: pydantic.ValidationError, problems: Sequence[ParamProblem] = ()) -> ValidationError:
    """Our ValidationError for a pydantic one: ``Parameter validation failed: <field>: <msg>; ...``.

    ``problems`` found on the raw params come first; pydantic's own report of the same unknown key
    (``extra_forbidden``) is replaced by ours, which names the closest known key.
    """
    ours = {tuple(p.loc) for p in problems}
    errors = [
        {'loc': list(err['loc']), 'msg': err['msg'], 'type': err['type']}
        for err in exc.errors(include_url=False, include_input=False)
        if not (err['type'] in ('extra_forbidden', 'int_from_bool') and tuple(err['loc']) in ours)
    ]
    return _combined(problems, errors)


def _combined(problems: Sequence[ParamProblem], errors: list[dict[str, Any]]) -> ValidationError:
    parts = [p.message for p in problems]
    parts += [f'{format_loc(e["loc"])}: {e["msg"]}' for e in errors]
    details = [p.as_error() for p in problems] + errors
    return ValidationError('Parameter validation failed: ' + '; '.join(parts), {'errors': details})


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
