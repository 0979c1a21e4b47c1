"""``BaseInferenceAction``: run a trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions._helpers import call_client
from synapse_sdk.plugins.steps import BaseStepContext

P = TypeVar('P', bound=BaseModel)


class InferenceProgress:
    """Standard progress categories of inference."""

    MODEL_LOAD = 'model_load'
    INFERENCE = 'inference'


@dataclass
class InferenceContext(BaseStepContext):
    """Shared state of a step-based inference."""

    model: Any = None
    model_info: dict[str, Any] | None = None
    results: Any = None


class BaseInferenceAction(BaseAction[P], Generic[P]):
    """Base of inference actions; override :meth:`infer`."""

    category: ClassVar[PluginCategory | None] = PluginCategory.NEURAL_NET
    progress = InferenceProgress()

    def create_context(self) -> InferenceContext:
        """An :class:`InferenceContext` for step workflows."""
        return InferenceContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    def get_model(self, model_id: int) -> dict[str, Any]:
        """Model metadata from the backend."""
        return call_client(self, 'get_model', 'get_model()', model_id)

    def download_model(self, model_id: int, output_dir: str | Path) -> Path:
        """Download and extract the model's artefacts into ``output_dir``."""
        return Path(call_client(self, 'download_model', 'download_model()', model_id, Path(output_dir)))

    def load_model(self, model_id: int, output_dir: str | Path | None = None) -> dict[str, Any]:
        """Download the model and return its metadata with ``path`` set to the extracted folder."""
        import tempfile

        info = dict(self.get_model(model_id))
        target = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix=f'synapse-model-{model_id}-'))
        info['path'] = self.download_model(model_id, target)
        return info

    def infer(self, model: Any, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run ``model`` on ``inputs``."""
        raise NotImplementedError(f'{type(self).__name__} must override infer(model, inputs)')
