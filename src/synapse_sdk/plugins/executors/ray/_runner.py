"""``run_plugin(mode='task'|'job')``: pick the Ray executor and run or submit the action."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from synapse_sdk.enums import ExecutionMode
from synapse_sdk.plugins._params_check import allow_unknown_default
from synapse_sdk.plugins.executors.ray._ray import DEFAULT_DASHBOARD_URL
from synapse_sdk.plugins.executors.ray.actor import RayActorExecutor
from synapse_sdk.plugins.executors.ray.job import RayJobExecutor

__all__ = ['dashboard_for', 'run', 'shutdown_task_executors']

_task_executors: dict[str, RayActorExecutor] = {}
_lock = threading.Lock()


def dashboard_for(ray_address: str | None) -> str:
    """The Jobs API address for ``ray_address``: an ``http(s)://`` URL as is, ``auto``/``ray://`` as Ray
    resolves them, else ``RAY_API_SERVER_ADDRESS`` / ``RAY_DASHBOARD_ADDRESS`` or the local default.
    """
    if ray_address:
        return ray_address
    return os.environ.get('RAY_API_SERVER_ADDRESS') or os.environ.get('RAY_DASHBOARD_ADDRESS') or DEFAULT_DASHBOARD_URL


def _task_executor(ray_address: str, working_dir: Any, config: Any, options: dict[str, Any]) -> RayActorExecutor:
    """One persistent executor per (address, folder, options): later calls reuse the warm actor."""
    key = repr((ray_address, str(working_dir), sorted((k, repr(v)) for k, v in options.items())))
    with _lock:
        executor = _task_executors.get(key)
        if executor is None:
            executor = RayActorExecutor(ray_address, working_dir, config=config, **options)
            _task_executors[key] = executor
        return executor


def shutdown_task_executors() -> None:
    """Stop every actor that ``run_plugin(mode='task')`` started."""
    with _lock:
        executors = list(_task_executors.values())
        _task_executors.clear()
    for executor in executors:
        executor.shutdown()


def run(
    mode: ExecutionMode | str,
    discovery: Any,
    action: str,
    action_cls: Any,
    params: Mapping[str, Any] | BaseModel | None,
    **executor_kwargs: Any,
) -> Any:
    """Run (task: returns the result) or submit (job: returns the job id) one action on Ray.

    ``discovery`` is None when the caller passed ``action_cls``; then ``working_dir=`` may name
    the folder to ship.
    """
    resolved = ExecutionMode(mode)
    working_dir = executor_kwargs.pop('working_dir', None)
    allow_unknown = allow_unknown_default(executor_kwargs.pop('allow_unknown_params', None))
    logger_factory = executor_kwargs.pop('logger_factory', None)
    config = None
    if discovery is not None and getattr(discovery, 'path', None) is not None:
        working_dir = working_dir or discovery.path
        config = discovery.config
    if resolved is ExecutionMode.TASK:
        ray_address = executor_kwargs.pop('ray_address', None) or 'auto'
        executor = _task_executor(ray_address, working_dir, config, executor_kwargs)
        logger = logger_factory() if logger_factory is not None else None
        return executor.execute(action_cls, params, logger=logger, allow_unknown_params=allow_unknown)
    if resolved is ExecutionMode.JOB:
        dashboard = executor_kwargs.pop('dashboard_url', None) or executor_kwargs.pop('dashboard_address', None)
        dashboard = dashboard or dashboard_for(executor_kwargs.pop('ray_address', None))
        by_key = config is not None and action in (config.actions or {})
        if by_key:  # refused here, before anything is submitted (the worker checks again)
            from synapse_sdk.plugins._function_action import action_class_for
            from synapse_sdk.plugins.executors._run import validate_params

            validate_params(action_class_for(action_cls), params, allow_unknown=allow_unknown)
        jobs = RayJobExecutor(dashboard, working_dir, config=config, **executor_kwargs)
        return jobs.submit(action if by_key else action_cls, params, allow_unknown_params=allow_unknown)
    raise ValueError(f"mode '{resolved.value}' does not run on Ray; use 'task' or 'job'")
