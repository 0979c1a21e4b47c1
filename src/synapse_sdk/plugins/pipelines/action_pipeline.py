"""``ActionPipeline``: run actions in sequence, checking at construction that neighbours fit."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, SchemaIncompatibleError, SynapseError, ValidationError
from synapse_sdk.plugins._function_action import action_class_for
from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.executors._run import params_error, validate_result
from synapse_sdk.utils.redact import redact

PipelineProgress = Callable[[int, int, str], None]


def _name(cls: type[BaseAction[Any]]) -> str:
    return cls.action_name or cls.__name__


class ActionPipeline:
    """Actions run one after another; each result is merged into the running params.

    Construction checks each neighbour pair (semantic types, result model, required fields)
    and warns, or raises :class:`SchemaIncompatibleError` when ``strict``.
    """

    def __init__(self, actions: Sequence[Any], *, validate_schemas: bool = True, strict: bool = False) -> None:
        if not actions:
            raise ValueError('Pipeline requires at least one action')
        self.actions: list[type[BaseAction[Any]]] = [action_class_for(a) for a in actions]
        self.strict = strict
        self.issues: list[str] = []
        if validate_schemas:
            self._check_neighbours()

    def __len__(self) -> int:
        return len(self.actions)

    # ------------------------------------------------------------------ construction checks
    def _check_neighbours(self) -> None:
        for source, target in zip(self.actions, self.actions[1:], strict=False):
            for issue in self._pair_issues(source, target):
                self.issues.append(issue)
                if self.strict:
                    raise SchemaIncompatibleError(issue, {'source': _name(source), 'target': _name(target)})
                warnings.warn(issue, UserWarning, stacklevel=3)

    def _pair_issues(self, source: type[BaseAction[Any]], target: type[BaseAction[Any]]) -> list[str]:
        issues = []
        out_type, in_type = source.output_type, target.input_type
        if out_type is not None and in_type is not None and not out_type.is_compatible_with(in_type):
            issues.append(
                f"Type mismatch: '{_name(source)}' outputs '{out_type.name}' but '{_name(target)}' "
                f"expects '{in_type.name}'."
            )
        result_model = source.result_model
        if result_model is NoResult:
            issues.append(
                f"'{_name(source)}' declares no result_model, so its output cannot be checked against "
                f"'{_name(target)}' params."
            )
            return issues
        provided = set(result_model.model_fields)  # type: ignore[union-attr]
        missing = [
            name
            for name, info in target.params_model.model_fields.items()
            if info.is_required() and name not in provided
        ]
        if missing:
            issues.append(
                f"'{_name(target)}' requires {', '.join(repr(m) for m in missing)} which '{_name(source)}' "
                'does not produce; pass them in the initial params.'
            )
        return issues

    def validate_initial_params(self, params: Mapping[str, Any]) -> list[str]:
        """Required fields (``'Action.field'``) that neither ``params`` nor an earlier result provide."""
        available = set(params)
        missing = []
        for cls in self.actions:
            for name, info in cls.params_model.model_fields.items():
                if info.is_required() and name not in available:
                    missing.append(f'{_name(cls)}.{name}')
            if cls.result_model is not NoResult:
                available |= set(cls.result_model.model_fields)  # type: ignore[union-attr]
        return missing

    # ------------------------------------------------------------------ running
    def execute(
        self, params: Mapping[str, Any], ctx: RuntimeContext, *, progress_callback: PipelineProgress | None = None
    ) -> Any:
        """Run every action; returns the last result."""
        running: dict[str, Any] = dict(params)
        result: Any = None
        count = len(self.actions)
        for index, cls in enumerate(self.actions):
            name = _name(cls)
            if progress_callback is not None:
                progress_callback(index, count, name)
            try:
                validated = cls.params_model.model_validate(running)
            except pydantic.ValidationError as exc:
                inner = params_error(exc)
                raise ValidationError(
                    f"Failed to validate params for action '{name}': {inner.message}", inner.details
                ) from exc
            result = self._run_one(cls, validated, ctx)
            running.update(_as_dict(result))
        if progress_callback is not None:
            progress_callback(count, count, 'complete')
        return result

    def _run_one(self, cls: type[BaseAction[Any]], params: BaseModel, ctx: RuntimeContext) -> Any:
        try:
            result = cls(params, ctx).run()
        except SynapseError as exc:
            raise ExecutionError(f"Action '{_name(cls)}' failed: {exc}") from exc
        except Exception as exc:
            raise ExecutionError(f"Action '{_name(cls)}' failed: {redact(str(exc)) or type(exc).__name__}") from exc
        validate_result(cls, result, ctx)
        return result


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump()
    if isinstance(result, Mapping):
        return dict(result)
    return {}
