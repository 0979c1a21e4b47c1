"""``run_plugin``: find an action and run it in the chosen mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, overload

from pydantic import BaseModel

from synapse_sdk.enums import ExecutionMode
from synapse_sdk.exceptions import MissingDependencyError

__all__ = ['run_plugin']


@overload
def run_plugin(
    plugin_code: str | None,
    action: str,
    params: Mapping[str, Any] | BaseModel | None = None,
    *,
    mode: Literal['job', ExecutionMode.JOB],
    action_cls: Any | None = None,
    **executor_kwargs: Any,
) -> str: ...


@overload
def run_plugin(
    plugin_code: str | None,
    action: str,
    params: Mapping[str, Any] | BaseModel | None = None,
    *,
    mode: str | ExecutionMode = ExecutionMode.LOCAL,
    action_cls: Any | None = None,
    **executor_kwargs: Any,
) -> Any: ...


def run_plugin(
    plugin_code: str | None,
    action: str,
    params: Mapping[str, Any] | BaseModel | None = None,
    *,
    mode: str | ExecutionMode = ExecutionMode.LOCAL,
    action_cls: Any | None = None,
    allow_unknown_params: bool | None = None,
    **executor_kwargs: Any,
) -> Any:
    """Run ``action`` of a plugin.

    Args:
        plugin_code: a plugin directory, a ``config.yaml`` path, an importable module name, or a
            plugin code: the current directory's plugin when its ``code`` matches, else the plugin of
            that code (or ``code@version``) published to the backend (``client=`` or the configured
            one), its release archive fetched once and cached.
        action: the action key in config.yaml (or the action's name for a module).
        params: the action's params.
        mode: ``local`` and ``task`` return the action's result; ``job`` returns the job id.
        action_cls: run this action class or ``@action`` function directly, skipping discovery.
        allow_unknown_params: run despite params keys the action's model does not know; a warning
            names them. By default they are refused before anything runs, in every mode, naming the
            closest known key (``unknown param 'projet': did you mean 'project'?``);
            ``SYNAPSE_ALLOW_UNKNOWN_PARAMS=1`` relaxes them where this is not given.
        **executor_kwargs: passed to the executor (``env``, ``job_id``, ``ray_address``, ``logger_factory``
            (local and task modes), ``connect_timeout`` (task mode), ...).
    """
    try:
        resolved = ExecutionMode(mode)
    except ValueError:
        valid = ', '.join(m.value for m in ExecutionMode)
        raise ValueError(f"Unknown mode '{mode}'; valid modes: {valid}") from None
    discovery = None
    if action_cls is None:
        from synapse_sdk.plugins.discovery import PluginDiscovery

        discovery = PluginDiscovery.load(plugin_code, client=executor_kwargs.get('client'))
        action_cls = discovery.get_action_class(action)
    if resolved is ExecutionMode.LOCAL:
        from synapse_sdk.plugins.executors import LocalExecutor

        if discovery is not None and discovery.config is not None and discovery.config.env:
            env = discovery.plugin_env().merge(executor_kwargs.pop('env', None))
            executor_kwargs['env'] = env
        return LocalExecutor(allow_unknown_params=allow_unknown_params, **executor_kwargs).execute(action_cls, params)
    executor_kwargs['allow_unknown_params'] = allow_unknown_params
    return _run_on_ray(resolved, discovery, action, action_cls, params, executor_kwargs)


def _run_on_ray(
    mode: ExecutionMode,
    discovery: Any,
    action: str,
    action_cls: Any,
    params: Mapping[str, Any] | BaseModel | None,
    executor_kwargs: dict[str, Any],
) -> Any:
    try:
        from synapse_sdk.plugins.executors import ray as ray_executors
    except ImportError as exc:  # the Ray executors module itself is missing
        raise MissingDependencyError(
            f"mode '{mode.value}' runs on Ray, which this installation cannot reach: {exc}. "
            "Install it with: pip install 'synapse-sdk[ray]'"
        ) from exc
    return ray_executors.run(mode, discovery, action, action_cls, params, **executor_kwargs)
