"""Runs a registry's steps in order, with weighted progress and rollback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from synapse_sdk.exceptions import PluginError, StepError
from synapse_sdk.plugins.steps.base import BaseStep, StepResult
from synapse_sdk.plugins.steps.context import BaseStepContext
from synapse_sdk.plugins.steps.registry import StepRegistry
from synapse_sdk.utils.redact import redact

C = TypeVar('C', bound=BaseStepContext)
ProgressCallback = Callable[[float, float], None]


class StepFailure(Exception):
    """Raise from a step to fail it with a user-facing message: ``Step '<step>' failed: <message>``.

    ``raise StepFailure(message) from original`` puts ``original`` (not this exception) on the
    resulting :class:`StepError`'s ``__cause__``.
    """


class Orchestrator(Generic[C]):
    """Executes steps; on failure rolls back every executed step (the failed one too) in reverse."""

    def __init__(
        self, registry: StepRegistry[C], context: C, progress_callback: ProgressCallback | None = None
    ) -> None:
        self.registry = registry
        self.context = context
        self.progress_callback = progress_callback
        self.executed: list[tuple[BaseStep[C], StepResult]] = []

    def execute(self) -> dict[str, Any]:
        """Run every step; returns ``{'success': True, 'steps_executed': n, 'steps_total': m}``."""
        steps = self.registry.get_steps()
        total_weight = self.registry.total_weight
        done_weight = 0.0
        for index, step in enumerate(steps):
            self.context.current_step = step.name
            if step.can_skip(self.context):
                self.context.step_results.append(StepResult(success=True, skipped=True))
            else:
                self._run_step(step)
            done_weight += step.progress_weight
            self._report(done_weight, total_weight, index + 1, len(steps))
        self.context.current_step = None
        return {'success': True, 'steps_executed': len(self.executed), 'steps_total': len(steps)}

    def _run_step(self, step: BaseStep[C]) -> None:
        try:
            result = step.execute(self.context)
        except Exception as exc:
            failed = StepResult(success=False, error=str(exc))
            self.executed.append((step, failed))
            self.context.step_results.append(failed)
            self._rollback()
            if isinstance(exc, PluginError) and not exc.wrap_in_step_error:
                raise
            message = redact(str(exc)) or type(exc).__name__
            cause = exc.__cause__ if isinstance(exc, StepFailure) and exc.__cause__ is not None else exc
            raise StepError(f"Step '{step.name}' failed: {message}", step=step.name) from cause
        if not isinstance(result, StepResult):
            result = StepResult(success=False, error=f'execute() returned {type(result).__name__}, not StepResult')
        self.executed.append((step, result))
        self.context.step_results.append(result)
        if not result.success:
            self._rollback()
            reason = RuntimeError(result.error or 'step reported failure')
            raise StepError(
                f"Step '{step.name}' failed: {result.error or 'step reported failure'}", step=step.name
            ) from (reason)

    def _rollback(self) -> None:
        for step, result in reversed(self.executed):
            try:
                step.rollback(self.context, result)
            except Exception as exc:  # best effort: record and go on
                self.context.errors.append(f"Rollback failed for step '{step.name}': {redact(str(exc))}")

    def _report(self, done: float, total: float, index: int, count: int) -> None:
        if self.progress_callback is None:
            return
        percent = done / total * 100 if total > 0 else index / count * 100
        self.progress_callback(round(percent, 2), 100)
