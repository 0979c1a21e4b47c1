"""The model server: each request names a task's image; the answer is its faces as task data."""

from __future__ import annotations

import asyncio
from typing import Any

from plugin.faces import Detector, load_detector
from synapse_sdk.plugins.actions.inference import BaseServeDeployment


class FaceDetector(BaseServeDeployment):
    """Loads the cascade of a ``models/`` record; detects faces in the primary image of each task."""

    _detecting: asyncio.Lock | None = None

    async def _get_model(self, model_info: dict[str, Any]) -> Detector:
        return load_detector(model_info['path'])

    async def infer(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        detector = await self.get_model()
        images = await asyncio.gather(*(self.download(item['primary_file_url']) for item in inputs))
        if self._detecting is None:
            self._detecting = asyncio.Lock()
        # a cascade is not thread-safe: one detection at a time, off the event loop (downloads go on meanwhile)
        async with self._detecting:
            return [await asyncio.to_thread(detector.task_data, image) for image in images]
