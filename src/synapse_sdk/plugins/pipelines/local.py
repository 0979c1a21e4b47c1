"""``LocalPipelineExecutor``: a pipeline run on a thread of this process, with checkpoints and resume."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from synapse_sdk.plugins.pipelines.tracking import Events, PipelineRunner, RunTracker
from synapse_sdk.plugins.pipelines.worker import pipeline_stream

__all__ = ['LocalPipelineExecutor']


class LocalPipelineExecutor(PipelineRunner):
    """Runs pipelines in this process (one thread per run); the interface of ``RayPipelineExecutor``.

    ``cancel`` lets the running action finish and starts no further one (a thread cannot be killed).

    Args:
        env: settings for the actions (``ctx.env``).
        client: the backend client that keeps runs and checkpoints (``pipeline_runs/``); without one
            runs are tracked in memory only and cannot be resumed.
    """

    def __init__(
        self, env: Mapping[str, Any] | None = None, *, client: Any = None, language: str | None = None
    ) -> None:
        super().__init__(client)
        self.env = dict(env or {})
        self.language = language

    def _launch(
        self, tracker: RunTracker, actions: list[Any], params: dict[str, Any], start: int, last_result: Any
    ) -> Events:
        cancel = threading.Event()
        tracker.stop = cancel.set  # the running action finishes; no further one starts
        return pipeline_stream(
            actions, params, start=start, last_result=last_result, env=self.env, language=self.language, cancel=cancel
        )
