"""``BaseTrainAction``: training with dataset, checkpoint and model helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions._helpers import call_client, has_param, param_value
from synapse_sdk.plugins.steps import BaseStepContext

P = TypeVar('P', bound=BaseModel)


class TrainProgress:
    """Standard progress categories of training."""

    DATASET = 'dataset'
    TRAIN = 'train'
    MODEL_UPLOAD = 'model_upload'


class BaseTrainParams(BaseModel):
    """Params every training action accepts; subclass to add yours (``dataset: int`` enables get_dataset)."""

    checkpoint: int | None = Field(default=None, description='Model id to resume or fine-tune from')


@dataclass
class TrainContext(BaseStepContext):
    """Shared state of a step-based training workflow."""

    dataset: Any = None
    checkpoint: Any = None
    model_path: str | None = None
    model: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


class BaseTrainAction(BaseAction[P], Generic[P]):
    """Base of training actions."""

    category: ClassVar[PluginCategory | None] = PluginCategory.NEURAL_NET
    progress = TrainProgress()

    def create_context(self) -> TrainContext:
        """A :class:`TrainContext` for step workflows."""
        return TrainContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    def get_dataset(self) -> Any:
        """Fetch the training dataset named by ``params.dataset`` (or ``params.dataset_id``)."""
        if not has_param(self, 'dataset', 'dataset_id'):
            raise ValueError(
                f'{type(self).__name__}.get_dataset() needs a `dataset: int` field in '
                f'{type(self.params).__name__}; add it, or override get_dataset()'
            )
        dataset_id = param_value(self, 'dataset', 'dataset_id')
        return call_client(self, 'get_dataset', 'get_dataset()', dataset_id)

    def get_checkpoint(self) -> Any:
        """The checkpoint model (``params.checkpoint``), else the run's ``ctx.checkpoint``, else None."""
        model_id = param_value(self, 'checkpoint')
        if model_id is not None:
            return self.get_model(model_id)
        return self.ctx.checkpoint

    def create_model(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Upload trained model files at ``path`` to the backend."""
        return call_client(self, 'create_model', 'create_model()', {'file': path, **kwargs})

    def get_model(self, model_id: int) -> dict[str, Any]:
        """Model metadata from the backend."""
        return call_client(self, 'get_model', 'get_model()', model_id)
