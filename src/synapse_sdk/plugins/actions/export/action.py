"""``BaseExportAction``: export annotated data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.steps import BaseStepContext

P = TypeVar('P', bound=BaseModel)


class ExportProgress:
    """Standard progress categories of exports."""

    DATASET_CONVERSION = 'dataset_conversion'
    EXPORT = 'export'


@dataclass
class ExportContext(BaseStepContext):
    """Shared state of a step-based export."""

    results: Any = None
    count: int = 0
    exported: list[Any] = field(default_factory=list)


class BaseExportAction(BaseAction[P], Generic[P]):
    """Base of export actions; override :meth:`get_filtered_results` for your export target."""

    category: ClassVar[PluginCategory | None] = PluginCategory.EXPORT
    progress = ExportProgress()

    def create_context(self) -> ExportContext:
        """An :class:`ExportContext` for step workflows."""
        return ExportContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    def get_filtered_results(self, filters: dict[str, Any]) -> tuple[Any, int]:
        """``(items, count)`` to export for ``filters``."""
        raise NotImplementedError(
            f'{type(self).__name__} must override get_filtered_results(filters) -> (items, count) '
            'to say what it exports (tasks, assignments, ground truths, ...)'
        )
