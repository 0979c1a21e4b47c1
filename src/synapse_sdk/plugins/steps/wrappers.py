"""Steps that wrap other steps (logging, timing) or validate the context."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from synapse_sdk.plugins.steps.base import BaseStep, StepResult
from synapse_sdk.plugins.steps.context import BaseStepContext

C = TypeVar('C', bound=BaseStepContext)


class _WrappingStep(BaseStep[C], Generic[C]):
    prefix = ''

    def __init__(self, step: BaseStep[C]) -> None:
        self.step = step

    @property
    def name(self) -> str:
        return f'{self.prefix}{self.step.name}'

    @property
    def progress_weight(self) -> float:
        return self.step.progress_weight

    def can_skip(self, context: C) -> bool:
        return self.step.can_skip(context)

    def execute(self, context: C) -> StepResult:
        return self.step.execute(context)

    def rollback(self, context: C, result: StepResult) -> None:
        self.step.rollback(context, result)


class LoggingStep(_WrappingStep[C]):
    """Logs ``step_start`` / ``step_end`` / ``step_rollback`` around a step; named ``logged_<name>``."""

    prefix = 'logged_'

    def execute(self, context: C) -> StepResult:
        context.log('step_start', {'step': self.step.name})
        started = time.perf_counter()
        result = self.step.execute(context)
        context.log(
            'step_end',
            {'step': self.step.name, 'success': result.success, 'duration_seconds': time.perf_counter() - started},
        )
        return result

    def rollback(self, context: C, result: StepResult) -> None:
        context.log('step_rollback', {'step': self.step.name})
        self.step.rollback(context, result)


class TimingStep(_WrappingStep[C]):
    """Adds ``data['duration_seconds']`` to a step's result; named ``timed_<name>``."""

    prefix = 'timed_'

    def execute(self, context: C) -> StepResult:
        started = time.perf_counter()
        result = self.step.execute(context)
        result.data['duration_seconds'] = time.perf_counter() - started
        return result


class ValidationStep(BaseStep[C]):
    """Runs ``validator(context)``, which returns ``(ok, error)`` or a bool; fails the workflow when not ok."""

    def __init__(
        self,
        validator: Callable[[C], tuple[bool, str | None] | bool],
        name: str = 'validate',
        progress_weight: float = 0.05,
    ) -> None:
        self._validator = validator
        self._name = name
        self._weight = progress_weight

    @property
    def name(self) -> str:
        return self._name

    @property
    def progress_weight(self) -> float:
        return self._weight

    def execute(self, context: C) -> StepResult:
        outcome = self._validator(context)
        ok, error = outcome if isinstance(outcome, tuple) else (bool(outcome), None)
        return StepResult(success=ok, error=None if ok else (error or 'validation failed'))
