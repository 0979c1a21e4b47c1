"""Shared state of a step workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synapse_sdk.plugins.context import RuntimeContext
    from synapse_sdk.plugins.steps.base import StepResult


@dataclass
class BaseStepContext:
    """State that steps share; subclass it (as a dataclass) to add fields.

    ``set_progress`` and ``set_metrics`` default to the step that is running.
    """

    runtime_ctx: RuntimeContext | None = None
    params: dict[str, Any] = field(default_factory=dict)
    step_results: list[StepResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    current_step: str | None = None

    def set_progress(self, current: float, total: float, step: str | None = None) -> None:
        """Report progress of ``step`` (default: the running step)."""
        if self.runtime_ctx is not None:
            self.runtime_ctx.set_progress(current, total, step or self.current_step)

    def set_metrics(self, value: dict[str, Any], step: str | None = None) -> None:
        """Record metrics of ``step`` (default: the running step)."""
        if self.runtime_ctx is not None:
            self.runtime_ctx.set_metrics(value, step or self.current_step)

    def log(self, event: str, data: dict[str, Any] | None = None) -> None:
        """Log a structured event."""
        if self.runtime_ctx is not None:
            self.runtime_ctx.log(event, data or {})
