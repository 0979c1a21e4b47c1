"""The one place Ray is imported, and the settings every connection to a cluster needs."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from synapse_sdk.exceptions import MissingDependencyError
from synapse_sdk.plugins.executors.ray._auth import auth_failure_hint, auth_headers, is_auth_failure

__all__ = [
    'DEFAULT_DASHBOARD_URL',
    'auth_headers',
    'import_ray',
    'job_submission_client',
    'loopback_environ',
    'upload_runtime_env',
]

DEFAULT_DASHBOARD_URL = 'http://127.0.0.1:8265'
_INSTALL_HINT = "Ray is required for task and job modes: pip install 'synapse-sdk[ray]'"


def import_ray(module: str = 'ray') -> ModuleType:
    """``ray`` (or one of its modules), or MissingDependencyError naming the extra to install.

    Ray reads its address settings on import, so the loopback setting is applied first.
    """
    loopback_environ()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(_INSTALL_HINT) from exc


def loopback_environ() -> None:
    """Keep a local Ray on 127.0.0.1 (Ray otherwise rewrites it to the machine's interface address).

    Sets ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` unless the environment already chose a value.
    """
    os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')


def job_submission_client(address: str, headers: dict[str, str] | None = None) -> Any:
    """A ``JobSubmissionClient`` for the dashboard at ``address`` (token auth handled)."""
    loopback_environ()
    module = import_ray('ray.job_submission')
    merged = {**auth_headers(), **(headers or {})}
    try:
        return module.JobSubmissionClient(address, headers=merged or None)
    except Exception as exc:
        from synapse_sdk.exceptions import ExecutorError
        from synapse_sdk.utils.redact import redact

        if is_auth_failure(exc):
            raise ExecutorError(f'Cannot use the Ray dashboard at {address}: {auth_failure_hint()}') from exc
        if not isinstance(exc, ConnectionError):
            raise
        raise ExecutorError(
            f'Cannot reach the Ray dashboard at {address}: {redact(str(exc)).splitlines()[0]}. '
            'Start a cluster (ray start --head) or pass the right dashboard URL'
        ) from exc


def upload_runtime_env(runtime_env: dict[str, Any], scratch_dir: str) -> dict[str, Any]:
    """Upload local ``working_dir`` / ``py_modules`` to the connected cluster, replacing them with URIs.

    Actors only accept URIs (Ray uploads local paths itself only for ``ray.init`` and jobs), so
    this calls the same helpers Ray uses for a job-level runtime env; packages are content-addressed
    and uploaded once.
    """
    working_dir = import_ray('ray._private.runtime_env.working_dir')
    py_modules = import_ray('ray._private.runtime_env.py_modules')
    out = dict(runtime_env)
    out = working_dir.upload_working_dir_if_needed(out, include_gitignore=False, scratch_dir=scratch_dir)
    return py_modules.upload_py_modules_if_needed(out, include_gitignore=False, scratch_dir=scratch_dir)
