"""``BaseUploadAction``: upload files into a data collection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.steps import BaseStepContext

P = TypeVar('P', bound=BaseModel)


class UploadProgress:
    """Standard progress categories of uploads."""

    ANALYZE = 'analyze'
    UPLOAD = 'upload'
    DATA_UNITS = 'data_units'


@dataclass
class UploadContext(BaseStepContext):
    """Shared state of a step-based upload."""

    files: list[Any] = field(default_factory=list)
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    data_units: list[dict[str, Any]] = field(default_factory=list)


class BaseUploadAction(BaseAction[P], Generic[P]):
    """Base of upload actions."""

    category: ClassVar[PluginCategory | None] = PluginCategory.UPLOAD
    progress = UploadProgress()

    def create_context(self) -> UploadContext:
        """An :class:`UploadContext` for step workflows."""
        return UploadContext(runtime_ctx=self.ctx, params=self.params.model_dump())
