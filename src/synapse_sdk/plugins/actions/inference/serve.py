"""``BaseServeDeployment``: the class a Ray Serve deployment of a pre-processor subclasses.

Put ``@serve.deployment`` / ``@serve.ingress(app)`` on the subclass (seed 002's example), or leave
them to :class:`~synapse_sdk.plugins.actions.inference.deployment.BaseDeploymentAction`, which adds
them with the release's options. A subclass implements:

- ``async _get_model(model_info)``: load the model from ``model_info['path']`` (a ``Path`` to the
  extracted artefacts of ``models/{id}/``);
- ``async infer(inputs) -> list[dict]``: run it; ``await self.get_model()`` gives the model of the
  request, multiplexed: the id comes from the ``serve_multiplexed_model_id`` header (the local agent
  sets it from the run's ``model``), each model is loaded once per replica and the replica keeps the
  3 most recently used (``max_models_per_replica``).

``check_health()`` fails while a model the replica was told to load at start (``model_id=``) did not
load, so a broken model ends as DEPLOY_FAILED instead of a replica that answers errors. Importing this
module does not import Ray; Serve is imported by the replica when it starts.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from synapse_sdk.exceptions import ExecutionError

__all__ = ['BaseServeDeployment']


class BaseServeDeployment:
    """A model server: multiplexed model loading over the backend's ``models/``, health that tells a broken model.

    Args:
        backend_url: the backend the models are read from.
        access_token: its token (default: ``SYNAPSE_ACCESS_TOKEN`` of the replica's environment).
        model_id: a model to load when the replica starts (the deployment fails if it cannot be loaded).
    """

    max_models_per_replica: int = 3

    def __init__(
        self,
        backend_url: str | None = None,
        *,
        access_token: str | None = None,
        model_id: int | str | None = None,
        batch: dict[str, Any] | None = None,
    ) -> None:
        self.backend_url = backend_url or os.environ.get('SYNAPSE_HOST')
        self._access_token = access_token or os.environ.get('SYNAPSE_ACCESS_TOKEN')
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._preloaded: dict[str, Any] = {}
        self._load_error: str | None = None
        self.default_model_id = None if model_id is None else str(model_id)
        self._multiplexed: Callable[[str], Awaitable[Any]] | None = None
        self.batch = dict(batch or {})  #: ``max_batch_size``, ``batch_wait_timeout_s`` (the release's serve_options)
        self._batched: Callable[[dict[str, Any]], Awaitable[Any]] | None = None
        if self.default_model_id is not None:
            self._preload(self.default_model_id)

    # ------------------------------------------------------------------ to implement
    async def _get_model(self, model_info: dict[str, Any]) -> Any:
        """Load the model from ``model_info['path']`` (the folder of its extracted artefacts)."""
        raise NotImplementedError(f'{type(self).__name__} must override async _get_model(model_info)')

    async def infer(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run the request's model on ``inputs``."""
        raise NotImplementedError(f'{type(self).__name__} must override async infer(inputs)')

    # ------------------------------------------------------------------ requests
    async def predict(self, item: dict[str, Any]) -> dict[str, Any]:
        """One request's answer: ``infer([item])[0]``, or, with ``batch`` set, a place in a batch of requests
        that arrive together (``@serve.batch`` with the release's ``max_batch_size`` and wait)."""
        if not self.batch:
            results = await self.infer([item])
            return results[0]
        if self._batched is None:
            serve = importlib.import_module('ray.serve')

            options = {k: self.batch[k] for k in ('max_batch_size', 'batch_wait_timeout_s') if k in self.batch}
            self._batched = serve.batch(**options)(self._infer_batch)
        result = await self._batched(item)
        if isinstance(result, _ItemFailure):
            raise result.error
        return result

    async def _infer_batch(self, items: list[dict[str, Any]]) -> list[Any]:
        """``infer(items)``; when that raises, each item alone, so one bad input fails only its own request.

        Serve gives a batch's exception to every request in it; an inference is a pure function of its
        inputs, so running the items of a failed batch once more, one by one, is safe and tells which failed.
        """
        try:
            return await self.infer(items)
        except Exception:
            if len(items) == 1:
                raise
        outcomes: list[Any] = []
        for item in items:
            try:
                outcomes.append((await self.infer([item]))[0])
            except Exception as exc:
                outcomes.append(_ItemFailure(exc))
        return outcomes

    @classmethod
    def with_default_route(cls) -> tuple[type, Any]:
        """``(subclass, app)``: ``cls`` with a FastAPI route answering ``POST /``, and that app, for
        ``serve.ingress(app)`` (for a class with no ingress of its own).

        The JSON body goes to :meth:`predict`; an exception comes back as a 500 with its own message instead
        of Serve's bare "Internal Server Error". (Serve forbids ``__call__`` on ingress classes, hence a route.)
        """
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()

        async def root(self, request: Request):  # self unannotated: FastAPI reads the annotations
            try:
                body = await request.json()
            except ValueError:
                return JSONResponse({'detail': 'The request body is not JSON'}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({'detail': 'The request body must be a JSON object'}, status_code=400)
            try:
                return await self.predict(body)
            except Exception as exc:
                return JSONResponse({'detail': f'{type(exc).__name__}: {exc}'}, status_code=500)

        root.__annotations__ = {'request': Request}  # the class, not a postponed string FastAPI cannot resolve
        route = app.post('/', response_model=None)(root)
        routed = type(cls.__name__, (cls,), {'_synapse_root': route, '__module__': cls.__module__})
        routed.__qualname__ = cls.__qualname__
        return routed, app

    # ------------------------------------------------------------------ models
    async def get_model(self) -> Any:
        """The model of this request: its multiplexed model id, else the one loaded at start."""
        serve = importlib.import_module('ray.serve')
        model_id = serve.get_multiplexed_model_id() or self.default_model_id
        if not model_id:
            raise ExecutionError(
                'No model for this request: send the serve_multiplexed_model_id header (the run\'s "model") '
                'or deploy with model_id'
            )
        if self._multiplexed is None:
            self._multiplexed = serve.multiplexed(max_num_models_per_replica=self.max_models_per_replica)(
                self._make_loader()
            )
        return await self._multiplexed(str(model_id))

    def _make_loader(self) -> Callable[[str], Awaitable[Any]]:
        async def load_model(model_id: str) -> Any:
            if model_id in self._preloaded:
                return self._preloaded.pop(model_id)
            return await self.load_model(model_id)

        return load_model

    async def load_model(self, model_id: int | str) -> Any:
        """Download (once, cached on disk) and load model ``model_id`` through ``_get_model``."""
        from synapse_sdk.plugins.actions.inference.artifacts import fetch_model

        info = await asyncio.to_thread(fetch_model, self._backend(), model_id)
        return await self._get_model(info)

    async def download(self, url: str, *, max_bytes: int = 256 << 20) -> bytes:
        """The bytes of a task's file (``primary_file_url``): auth headers only to the backend's host."""
        data = await asyncio.to_thread(self._backend().download_file, url, max_bytes=max_bytes)
        return bytes(data)

    def _backend(self) -> Any:
        with self._client_lock:
            if self._client is None:
                if not self.backend_url:
                    raise ExecutionError(
                        f'{type(self).__name__} has no backend to read models from: bind it with backend_url=... '
                        'or set SYNAPSE_HOST'
                    )
                from synapse_sdk.plugins._backend import backend_client

                self._client = backend_client(self.backend_url, self._access_token)
            return self._client

    def _preload(self, model_id: str) -> None:
        """Load ``model_id`` now (the constructor runs in the replica before it takes requests)."""
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome['model'] = asyncio.run(self.load_model(model_id))
            except Exception as exc:  # reported by check_health and raised below
                outcome['error'] = exc

        thread = threading.Thread(target=run, name='synapse-model-preload')
        thread.start()
        thread.join()
        if 'error' in outcome:
            error = outcome['error']
            self._load_error = f'Model {model_id} did not load: {type(error).__name__}: {error}'
            raise ExecutionError(self._load_error) from error
        self._preloaded[model_id] = outcome['model']

    # ------------------------------------------------------------------ Serve hooks
    def check_health(self) -> None:
        """Serve's health check: fails while the model this replica was to load did not load."""
        if self._load_error is not None:
            raise ExecutionError(self._load_error)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_url={self.backend_url!r}, model_id={self.default_model_id!r})'


class _ItemFailure:
    """The exception of one request of a batch, carried as its result (Serve sets results, not exceptions)."""

    __slots__ = ('error',)

    def __init__(self, error: Exception) -> None:
        self.error = error
