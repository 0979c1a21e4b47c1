"""An ordered collection of uniquely named steps."""

from __future__ import annotations

import math
from typing import Generic, TypeVar

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.plugins.steps.base import BaseStep
from synapse_sdk.plugins.steps.context import BaseStepContext

C = TypeVar('C', bound=BaseStepContext)


class StepRegistry(Generic[C]):
    """Steps in execution order; names are unique and weights non-negative."""

    def __init__(self) -> None:
        self._steps: list[BaseStep[C]] = []

    def register(self, step: BaseStep[C]) -> StepRegistry[C]:
        """Append ``step``."""
        self._check(step)
        self._steps.append(step)
        return self

    def unregister(self, name: str) -> BaseStep[C]:
        """Remove and return the step called ``name``."""
        index = self._index(name)
        return self._steps.pop(index)

    def insert_before(self, anchor: str, step: BaseStep[C]) -> StepRegistry[C]:
        """Insert ``step`` just before the step called ``anchor``."""
        index = self._index(anchor)
        self._check(step)
        self._steps.insert(index, step)
        return self

    def insert_after(self, anchor: str, step: BaseStep[C]) -> StepRegistry[C]:
        """Insert ``step`` just after the step called ``anchor``."""
        index = self._index(anchor)
        self._check(step)
        self._steps.insert(index + 1, step)
        return self

    def get_steps(self) -> list[BaseStep[C]]:
        """The steps, in order (a copy)."""
        return list(self._steps)

    def get_step(self, name: str) -> BaseStep[C]:
        """The step called ``name``."""
        return self._steps[self._index(name)]

    @property
    def total_weight(self) -> float:
        """Sum of every step's progress weight."""
        return sum(step.progress_weight for step in self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __bool__(self) -> bool:
        return bool(self._steps)

    def __contains__(self, name: object) -> bool:
        return any(step.name == name for step in self._steps)

    def _index(self, name: str) -> int:
        for index, step in enumerate(self._steps):
            if step.name == name:
                return index
        raise ValueError(f"Step '{name}' not found")

    def _check(self, step: BaseStep[C]) -> None:
        if not isinstance(step, BaseStep):
            raise ActionDefinitionError(f'Only BaseStep instances can be registered, got {type(step).__name__}')
        name = step.name
        if not isinstance(name, str) or not name:
            raise ValueError(f'{type(step).__name__} needs a non-empty string name')
        if name in self:
            raise ValueError(f"Step '{name}' is already registered; step names must be unique")
        weight = step.progress_weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"Step '{name}' has progress_weight {weight!r}; it must be a finite number >= 0")
