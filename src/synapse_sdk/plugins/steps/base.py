"""A step and its result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from synapse_sdk.plugins.steps.context import BaseStepContext

C = TypeVar('C', bound=BaseStepContext)


@dataclass
class StepResult:
    """What a step produced; ``rollback_data`` is handed back to its ``rollback``."""

    success: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    rollback_data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


class BaseStep(ABC, Generic[C]):
    """One unit of a workflow.

    Subclasses give a ``name`` and a ``progress_weight`` (class attributes or properties) and
    implement :meth:`execute`; :meth:`can_skip` and :meth:`rollback` are optional.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """Unique name within a registry."""

    @property
    def progress_weight(self) -> float:
        """Share of the workflow's progress (>= 0; relative to the other steps)."""
        return 1.0

    @abstractmethod
    def execute(self, context: C) -> StepResult:
        """Do the work."""

    def can_skip(self, context: C) -> bool:
        """Return True to skip this step (it is then neither executed nor rolled back)."""
        return False

    def rollback(self, context: C, result: StepResult) -> None:
        """Undo what :meth:`execute` did (best effort)."""

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.name!r} weight={self.progress_weight}>'
