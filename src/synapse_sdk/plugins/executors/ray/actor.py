"""Task mode: actions run in a persistent Ray actor whose working directory is the plugin's."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, ExecutorError
from synapse_sdk.loggers import BaseLogger, ConsoleLogger
from synapse_sdk.plugins._params_check import allow_unknown_default
from synapse_sdk.plugins.executors.ray._actor_worker import ActionWorker
from synapse_sdk.plugins.executors.ray._connect import connect_ray
from synapse_sdk.plugins.executors.ray._failures import runtime_env_failure
from synapse_sdk.plugins.executors.ray._packaging import build_archive
from synapse_sdk.plugins.executors.ray._placement import DEFAULT_PLACEMENT_TIMEOUT, DEFAULT_START_TIMEOUT, await_start
from synapse_sdk.plugins.executors.ray._ray import upload_runtime_env
from synapse_sdk.plugins.executors.ray._relay import follow
from synapse_sdk.plugins.executors.ray._runtime_env import PluginRuntime, worker_environ
from synapse_sdk.plugins.executors.ray._target import checked_params, resolve_action
from synapse_sdk.utils.redact import add_secret, redact

__all__ = ['RayActorExecutor', 'RayTaskExecutor']


class RayActorExecutor:
    """Runs actions in one persistent Ray actor: the first call starts it, later calls reuse it.

    Args:
        ray_address: the cluster (``auto``, ``127.0.0.1:6379``, ``ray://host:10001``); ignored when
            this process is already connected to Ray.
        working_dir: the plugin folder: the actor runs in a copy of it (``.synapseignore`` honoured;
            credentials, params files and ``.git`` never ship), with its ``requirements.txt``,
            wheels, ``env`` and ``runtime_env`` from ``config.yaml``.
        num_cpus / num_gpus / memory: resources the actor holds while it lives.
        include_sdk: ship this installation's ``synapse_sdk`` with the actor (for SDK development).
        env: settings for the action (``ctx.env``), merged over config ``env``.
        job_id: the backend job the runs belong to: progress, logs and results are reported to it.
        runtime_env: extra Ray ``runtime_env`` keys, over the plugin's own.
        start_timeout: seconds the actor may take to be placed and set up (its ``requirements.txt``
            installed); None waits for ever.
        placement_timeout: seconds to wait while no node of the cluster has the resources asked
            (``num_cpus``/``num_gpus``/``memory``), e.g. for an autoscaler to add one, before failing.
        connect_timeout: seconds connecting to the cluster may take (default 30, or
            ``SYNAPSE_RAY_CONNECT_TIMEOUT``); a closed port fails at once, with the address named.
        logger_factory: builds the caller-side logger of each run, on which the actor's log messages
            and progress are replayed as they arrive (default: :class:`~synapse_sdk.loggers.ConsoleLogger`,
            as local mode).
        allow_unknown_params: run despite params keys the action's model does not know (a warning
            names them); by default they are refused (``SYNAPSE_ALLOW_UNKNOWN_PARAMS=1`` relaxes).
    """

    def __init__(
        self,
        ray_address: str | None = 'auto',
        working_dir: str | Path | None = None,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        include_sdk: bool = False,
        *,
        memory: int | None = None,
        env: Mapping[str, Any] | None = None,
        job_id: int | str | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        language: str | None = None,
        config: Any | None = None,
        start_timeout: float | None = DEFAULT_START_TIMEOUT,
        placement_timeout: float = DEFAULT_PLACEMENT_TIMEOUT,
        connect_timeout: float | None = None,
        logger_factory: Callable[[], BaseLogger] | None = None,
        allow_unknown_params: bool | None = None,
    ) -> None:
        self.ray_address = ray_address
        self.connect_timeout = connect_timeout
        self.logger_factory = logger_factory
        self.allow_unknown_params = allow_unknown_params
        self.start_timeout = start_timeout
        self.placement_timeout = placement_timeout
        self.runtime = PluginRuntime.from_dir(working_dir, config)
        if runtime_env:
            self.runtime.runtime_env = {**self.runtime.runtime_env, **dict(runtime_env)}
        self.resources = {'num_cpus': num_cpus, 'num_gpus': num_gpus, 'memory': memory}
        self.include_sdk = include_sdk
        self.env = dict(env or {})
        self.job_id = None if job_id is None else str(job_id)
        self.language = language
        self._actor: Any | None = None
        self._ray: Any | None = None
        self._worker_env: tuple[dict[str, str], dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f'RayActorExecutor({self.ray_address!r}, working_dir={str(self.runtime.plugin_dir)!r})'

    def __enter__(self) -> RayActorExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ lifecycle
    def _connect(self) -> Any:
        if self._ray is None:
            ray = connect_ray(self.ray_address, self.connect_timeout)
            self._ray = ray
        return self._ray

    def _environ(self) -> tuple[dict[str, str], dict[str, str]]:
        """The worker's variables, resolved once per actor (credentials are read when it starts)."""
        if self._worker_env is None:
            public, secret = worker_environ(self.runtime, self.env, job_id=self.job_id, language=self.language)
            add_secret(*secret.values())
            self._worker_env = public, secret
        return self._worker_env

    def _start(self, label: str) -> Any:
        public, secret = self._environ()
        plugin_env = {k: public.get(k, secret.get(k, '')) for k in {**self.runtime.env, **self.env}}
        ray = self._connect()
        with tempfile.TemporaryDirectory(prefix='synapse-task-') as tmp:
            working_dir = None
            if self.runtime.plugin_dir is not None:
                working_dir = str(build_archive(self.runtime.plugin_dir, tmp))
            modules = None
            if self.include_sdk:
                import synapse_sdk

                modules = [str(Path(synapse_sdk.__file__).resolve().parent)]
            # the secret-free settings only: this runtime_env is visible in Ray's dashboard
            plugin_keys = {'SYNAPSE_PLUGIN_ENV_KEYS', 'SYNAPSE_LANGUAGE'} | set(self.runtime.env) | set(self.env)
            visible = {k: v for k, v in public.items() if k in plugin_keys}
            runtime_env = self.runtime.ray_runtime_env(working_dir, visible, modules)
            try:
                runtime_env = upload_runtime_env(runtime_env, tmp)
            except Exception as exc:
                raise ExecutorError(f'Uploading the working directory failed: {redact(str(exc))}') from exc
            options = {k: v for k, v in self.resources.items() if v is not None}
            remote_cls = ray.remote(ActionWorker)
            actor = remote_cls.options(runtime_env=runtime_env, max_restarts=0, **options).remote()
            try:
                # credentials travel as call arguments, never in the (visible) runtime_env
                ref = actor.configure.remote(public, secret, plugin_env)
                await_start(
                    ray,
                    ref,
                    label=label,
                    asked=self.resources,
                    placement_timeout=self.placement_timeout,
                    start_timeout=self.start_timeout,
                )
            except BaseException as exc:
                ray.kill(actor)
                if isinstance(exc, ExecutorError) or not isinstance(exc, Exception):
                    raise
                raise ExecutorError(
                    f"The Ray actor for action '{label}' could not start: {_start_failure(exc)}"
                ) from exc
        return actor

    def shutdown(self) -> None:
        """Stop the actor (a later :meth:`execute` starts a new one)."""
        actor, self._actor = self._actor, None
        self._worker_env = None
        if actor is not None and self._ray is not None:
            try:
                self._ray.kill(actor)
            except Exception:  # already gone
                pass

    # ------------------------------------------------------------------ running
    def execute(
        self,
        action: Any,
        params: Mapping[str, Any] | BaseModel | None = None,
        *,
        timeout: float | None = None,
        logger: BaseLogger | None = None,
        allow_unknown_params: bool | None = None,
    ) -> Any:
        """Run ``action`` (a class, an ``@action`` function, an action key or an entrypoint) in the actor.

        Returns the action's result as returned (a dict of its JSON form when ``action`` was given
        by name). Bad params of a class or function fail here, before anything is sent. The run's
        log messages and progress are replayed on ``logger`` (default: one from ``logger_factory``)
        as they arrive; it is finished when the run ends.

        Raises:
            ExecutionError: the action failed, or the actor died (it is replaced on the next call)
                or did not answer within ``timeout`` seconds; the message names the action.
        """
        allow = allow_unknown_default(
            self.allow_unknown_params if allow_unknown_params is None else allow_unknown_params
        )
        resolved = resolve_action(action, self.runtime)
        payload = checked_params(resolved, params, allow_unknown=allow)
        if self._actor is None:
            self._actor = self._start(resolved.label)
        ray = self._connect()  # the connection a _start made, now or on an earlier call
        target = resolved.entrypoint if _by_name(resolved, self.runtime.plugin_dir) else resolved.action
        raw = resolved.action is not None
        sink = logger if logger is not None else (self.logger_factory or ConsoleLogger)()
        stream = self._actor.stream.options(num_returns='streaming').remote(
            target, payload, raw=raw, allow_unknown=allow
        )
        try:
            outcome, value = follow(ray, stream, sink, timeout, lambda: ray.kill(self._actor))
        except Exception as exc:
            self._replace()
            raise ExecutionError(
                f"Ray actor execution failed: action '{resolved.label}': {_ray_failure(exc, timeout)}",
                {'action': resolved.label, 'exception': type(exc).__name__},
            ) from exc
        finally:
            if not sink.finished:
                sink.finish()
        if outcome == 'error':
            raise value
        return value

    def _replace(self) -> None:
        """Drop a dead or stuck actor; the next call starts a fresh one."""
        self.shutdown()


def _by_name(resolved: Any, plugin_dir: Path | None) -> bool:
    """Ship the entrypoint (imported in the actor, isolated per plugin) rather than the pickled action?

    Yes for names and for actions defined in the plugin folder; an action defined elsewhere is
    pickled by Ray (by reference when the actor can import its module, by value from ``__main__``).
    """
    if resolved.action is None:
        return True
    if resolved.entrypoint is None or plugin_dir is None:
        return False
    import sys

    module = sys.modules.get(getattr(resolved.action, '__module__', ''), None)
    file = getattr(module, '__file__', None)
    if not file:
        return False
    return Path(file).resolve().is_relative_to(plugin_dir)


def _start_failure(exc: BaseException) -> str:
    text = redact(str(exc))
    summary = runtime_env_failure(text)
    if summary is not None:
        return summary
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _ray_failure(exc: BaseException, timeout: float | None) -> str:
    name = type(exc).__name__
    if name in ('GetTimeoutError', 'RunTimeout'):
        return f'no answer within {timeout} s; the actor was stopped'
    if 'ActorDied' in name or 'ActorError' in name or 'ActorUnavailable' in name:
        return 'the actor process died (crashed or was killed); a new actor starts on the next call'
    text = redact(str(exc)).strip().splitlines()
    return f'{name}: {text[-1] if text else name}'


#: The name seed 002 and the docs also use for task mode.
RayTaskExecutor = RayActorExecutor
