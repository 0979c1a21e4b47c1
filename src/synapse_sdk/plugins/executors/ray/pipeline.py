"""``RayPipelineExecutor``: every action of a pipeline run in one Ray actor, with checkpoints and resume.

The actor (:class:`PipelineWorker`) runs the whole pipeline as a Ray streaming generator
(:func:`~synapse_sdk.plugins.pipelines.worker.pipeline_stream`): per-action progress arrives here in
batches, and each action's checkpoint before the next action starts. The caller records runs and
checkpoints in the backend (``pipeline_runs/``) when a client is configured; ``resume_from=<run>``
then starts after the last finished action of that run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import ExecutorError
from synapse_sdk.plugins.pipelines.tracking import Events, PipelineRunner, RunTracker
from synapse_sdk.utils.redact import add_secret, redact

__all__ = ['PipelineWorker', 'RayPipelineExecutor']


class PipelineWorker:
    """The actor of one run (plain Python; the executor makes it a Ray actor)."""

    def configure(self, environ: Mapping[str, str], secrets: Mapping[str, str]) -> int:
        add_secret(*secrets.values())
        os.environ.update(environ)
        os.environ.update(secrets)
        return os.getpid()

    def stream(
        self,
        actions: list[Any],
        params: Mapping[str, Any],
        start: int,
        last_result: Any,
        env: Mapping[str, Any],
        language: str | None,
    ) -> Iterator[tuple[Any, ...]]:
        from synapse_sdk.plugins.pipelines.worker import pipeline_stream

        yield from pipeline_stream(actions, params, start=start, last_result=last_result, env=env, language=language)


class RayPipelineExecutor(PipelineRunner):
    """Runs pipelines on Ray: each run in one actor of its own, its progress streamed to this process.

    Args:
        env: settings for the actions (``ctx.env``).
        ray_address: the cluster (``auto``, ``127.0.0.1:6379``); ignored when this process is already
            connected to Ray (that connection is reused).
        runtime_env: extra Ray ``runtime_env`` keys of the actor.
        working_dir: a folder the actor runs in (a copy of it; ``.synapseignore`` honoured).
        client: the backend client that keeps runs and checkpoints (``pipeline_runs/``).
        pipeline_service_url: the backend URL instead of ``client`` (token from the configured
            credentials); seed 002's name for it.
        num_cpus / num_gpus: resources the actor holds while the run lasts.
        include_sdk: ship this installation's ``synapse_sdk`` with the actor (for SDK development).
        connect_timeout: seconds connecting to the cluster may take (default 30).
    """

    def __init__(
        self,
        env: Mapping[str, Any] | None = None,
        *,
        ray_address: str | None = 'auto',
        runtime_env: Mapping[str, Any] | None = None,
        working_dir: str | Path | None = None,
        client: Any = None,
        pipeline_service_url: str | None = None,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        include_sdk: bool = False,
        language: str | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        if client is None and pipeline_service_url is not None:
            client = _client_for(pipeline_service_url)
        super().__init__(client)
        self.env = dict(env or {})
        self.ray_address = ray_address
        self.runtime_env = dict(runtime_env or {})
        self.working_dir = None if working_dir is None else Path(working_dir).resolve()
        if self.working_dir is not None and not self.working_dir.is_dir():
            raise ExecutorError(f'working_dir: {self.working_dir} is not a folder; pass the plugin folder')
        self.resources = {'num_cpus': num_cpus, 'num_gpus': num_gpus}
        self.include_sdk = include_sdk
        self.language = language
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f'RayPipelineExecutor(ray_address={self.ray_address!r})'

    def _connect(self) -> Any:
        from synapse_sdk.plugins.executors.ray._connect import connect_ray

        return connect_ray(self.ray_address, self.connect_timeout)

    def _actor_env(self, ray: Any, scratch: str) -> dict[str, Any]:
        from synapse_sdk.plugins.executors.ray._packaging import build_archive
        from synapse_sdk.plugins.executors.ray._ray import upload_runtime_env

        runtime_env = dict(self.runtime_env)
        env_vars = {str(k): str(v) for k, v in (runtime_env.get('env_vars') or {}).items()}
        env_vars.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
        runtime_env['env_vars'] = env_vars
        if self.working_dir is not None:
            runtime_env['working_dir'] = str(build_archive(self.working_dir, scratch))
        if self.include_sdk:
            import synapse_sdk

            modules = [str(Path(synapse_sdk.__file__).resolve().parent)]
            runtime_env['py_modules'] = [*runtime_env.get('py_modules', []), *modules]
        try:
            return upload_runtime_env(runtime_env, scratch)
        except Exception as exc:
            raise ExecutorError(f'Uploading the working directory failed: {_first(exc)}') from exc

    def _launch(
        self, tracker: RunTracker, actions: list[Any], params: dict[str, Any], start: int, last_result: Any
    ) -> Events:
        from synapse_sdk.plugins.executors.ray._runtime_env import PluginRuntime, worker_environ

        ray = self._connect()
        public, secret = worker_environ(PluginRuntime(), self.env, language=self.language)
        add_secret(*secret.values())
        with tempfile.TemporaryDirectory(prefix='synapse-pipeline-') as scratch:
            runtime_env = self._actor_env(ray, scratch)
            options = {k: v for k, v in self.resources.items() if v is not None}
            actor = ray.remote(PipelineWorker).options(runtime_env=runtime_env, max_restarts=0, **options).remote()
        try:
            ray.get(actor.configure.remote(public, secret))
            stream = actor.stream.options(num_returns='streaming').remote(
                actions, params, start, last_result, self.env, self.language
            )
        except Exception as exc:
            ray.kill(actor)
            raise ExecutorError(
                f'The Ray actor of pipeline run {tracker.run_id} could not start: {_first(exc)}'
            ) from exc

        def stop() -> None:
            try:
                ray.kill(actor)
            except Exception:  # already gone
                pass

        tracker.stop = tracker.on_end = stop
        return (ray.get(ref) for ref in stream)


def _client_for(url: str) -> Any:
    from synapse_sdk.plugins._backend import client_for_url

    return client_for_url(url)


def _first(exc: BaseException) -> str:
    return (redact(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
