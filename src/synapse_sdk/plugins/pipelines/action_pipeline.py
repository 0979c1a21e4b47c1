"""``ActionPipeline``: run actions in sequence, checking at construction that neighbours fit."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pydantic
from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, SchemaIncompatibleError, SynapseError, ValidationError
from synapse_sdk.plugins._function_action import action_class_for
from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.executors._run import params_error, validate_result
from synapse_sdk.utils.redact import redact

PipelineProgress = Callable[[int, int, str], None]
#: Called after action ``i`` finished: ``(i, name, running params with its result merged in, result)``.
ActionDone = Callable[[int, str, dict[str, Any], Any], None]


class PipelineExecutor(Protocol):
    """What :meth:`ActionPipeline.submit` and :meth:`ActionPipeline.wait` need of an executor."""

    def submit(
        self, pipeline: Any, params: Mapping[str, Any], *, name: str | None = None, resume_from: Any = None
    ) -> str: ...

    def get_result(self, run_id: str, timeout: float | None = None) -> Any: ...


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
        self._executor: PipelineExecutor | None = None
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
        self,
        params: Mapping[str, Any],
        ctx: RuntimeContext,
        *,
        progress_callback: PipelineProgress | None = None,
        start: int = 0,
        last_result: Any = None,
        on_action_done: ActionDone | None = None,
    ) -> Any:
        """Run every action; returns the last result.

        ``start`` skips the actions before it (a resumed run: ``params`` are then the running params
        of the checkpoint and ``last_result`` its result); ``on_action_done`` is called after each
        action (the checkpoint hook).
        """
        count = len(self.actions)
        if not 0 <= start <= count:
            raise ValueError(f'start must be between 0 and {count} (the number of actions), got {start}')
        running: dict[str, Any] = dict(params)
        result: Any = last_result
        for index in range(start, count):
            cls = self.actions[index]
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
            if on_action_done is not None:
                on_action_done(index, name, dict(running), result)
        if progress_callback is not None:
            progress_callback(count, count, 'complete')
        return result

    @property
    def action_names(self) -> list[str]:
        return [_name(cls) for cls in self.actions]

    def submit(
        self, params: Mapping[str, Any], executor: PipelineExecutor, *, name: str | None = None, resume_from: Any = None
    ) -> str:
        """Start this pipeline on ``executor`` (a ``RayPipelineExecutor`` or ``LocalPipelineExecutor``); the run id."""
        self._executor = executor
        return executor.submit(self, params, name=name, resume_from=resume_from)

    def wait(self, run_id: str, executor: PipelineExecutor | None = None, *, timeout: float | None = None) -> Any:
        """The result of run ``run_id`` once it ends (on the executor of the last :meth:`submit` unless given)."""
        chosen = executor if executor is not None else self._executor
        if chosen is None:
            raise ValueError('wait() needs the executor the run was submitted to: pass executor=')
        return chosen.get_result(run_id, timeout=timeout)

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
