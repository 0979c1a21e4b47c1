"""``BaseInferenceAction``: run a trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions._helpers import call_client, require_client
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

    def download_model(self, model_id: int, output_dir: str | Path | None = None) -> Path:
        """The folder of the model's extracted artefacts: downloaded and extracted once, then reused.

        ``output_dir``: the cache folder (default ``$SYNAPSE_STATE_DIR/models``).
        """
        return Path(self.load_model(model_id, output_dir)['path'])

    def load_model(self, model_id: int, output_dir: str | Path | None = None) -> dict[str, Any]:
        """The model's record with ``path`` set to the folder of its extracted artefacts."""
        from synapse_sdk.plugins.actions.inference.artifacts import fetch_model

        client = require_client(self, 'load_model()')
        self.set_progress(0, 1, self.progress.MODEL_LOAD)
        info = fetch_model(client, model_id, Path(output_dir) if output_dir else None)
        self.set_progress(1, 1, self.progress.MODEL_LOAD)
        return info

    def infer(self, model: Any, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run ``model`` on ``inputs``."""
        raise NotImplementedError(f'{type(self).__name__} must override infer(model, inputs)')
