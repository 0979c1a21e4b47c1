"""Tools over the configured backend: projects, tasks, jobs, serve applications, a job's progress, publishing.

The backend is :func:`synapse_sdk.connect.create_backend_client`'s: host and token come from the
environment (``SYNAPSE_HOST``, ``SYNAPSE_ACCESS_TOKEN``) or the config file ``synapse login``
writes, never from a tool argument; with no host configured, the local backend. The client is made
on the first call that needs it, so ``synapse mcp serve`` starts (and its plugin's tools work) with
no backend at all. Arguments are pydantic models that forbid unknown keys; a bad call gets the same
``Parameter validation failed: ...`` message as an action's.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from synapse_sdk.enums import JobStatus
from synapse_sdk.exceptions import ConfigError, ValidationError
from synapse_sdk.mcp.tools import ToolHints, ToolSpec

__all__ = ['NO_BACKEND', 'BackendHandle', 'backend_tools']

NO_BACKEND = (
    'No backend to talk to: run `synapse login`, or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN '
    "in the MCP server's environment (the client's config snippet from `synapse mcp init`)"
)
_READ = ToolHints(read_only=True, destructive=False, idempotent=True)
#: publishing adds a release and never replaces one: a repeat of the same version is refused
_PUBLISH = ToolHints(read_only=False, destructive=False, idempotent=True)


class BackendHandle:
    """The backend client, made on first use and shared by every tool call (calls run in worker threads)."""

    def __init__(self, factory: Callable[[], Any | None] | None = None) -> None:
        self._factory = factory
        self._client: Any | None = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The client; ``ConfigError`` naming the fix when no backend is configured."""
        with self._lock:
            if self._client is None:
                factory = self._factory
                if factory is None:
                    from synapse_sdk.connect import create_backend_client

                    factory = create_backend_client
                self._client = factory()
                if self._client is None:
                    raise ConfigError(NO_BACKEND)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class _Args(BaseModel):
    model_config = ConfigDict(extra='forbid')


class PageArgs(_Args):
    page: int = Field(default=1, ge=1, description='Page number, from 1')
    page_size: int = Field(default=20, ge=1, le=100, description='Items per page (at most 100)')


class TasksArgs(PageArgs):
    project: int = Field(ge=1, description='The project whose tasks to list')
    status: str | None = Field(default=None, description='Only tasks of this status (e.g. pending)')


class JobsArgs(PageArgs):
    status: JobStatus | None = Field(default=None, description='Only jobs of this status')
    action: str | None = Field(default=None, description='Only jobs of this action (e.g. to_task)')


class ServeAppsArgs(PageArgs):
    plugin_code: str | None = Field(default=None, description='Only applications of this plugin')


class JobProgressArgs(_Args):
    job_id: int = Field(ge=1, description='The job to read')


class PublishArgs(_Args):
    dry_run: bool = Field(default=True, description='Only check and describe the release (true, the default)')


def backend_tools(backend: BackendHandle, plugin: Path | None = None) -> list[ToolSpec]:
    """The backend's tools; with ``plugin`` (its folder) also ``synapse_publish_plugin``."""
    tools = [
        _tool(
            'synapse_list_projects',
            'List projects',
            'Projects on the backend, one page at a time.',
            PageArgs,
            lambda a: _page(backend.get().projects, a, {}),
        ),
        _tool(
            'synapse_list_tasks',
            'List tasks',
            "A page of a project's tasks, with their data.",
            TasksArgs,
            lambda a: _page(backend.get().tasks, a, {'project': a.project, 'status': a.status}),
        ),
        _tool(
            'synapse_list_jobs',
            'List jobs',
            'Plugin runs (jobs) on the backend, one page at a time.',
            JobsArgs,
            lambda a: _page(backend.get().jobs, a, {'status': a.status, 'action': a.action}),
        ),
        _tool(
            'synapse_list_serve_apps',
            'List serve applications',
            'Model servers deployed on Ray Serve.',
            ServeAppsArgs,
            lambda a: _page(backend.get().serve_applications, a, {'plugin_code': a.plugin_code}),
        ),
        _tool(
            'synapse_get_job_progress',
            "Read a job's progress",
            'Status, progress per step and metrics of a job.',
            JobProgressArgs,
            lambda a: _progress(backend.get().jobs.get(a.job_id)),
        ),
    ]
    if plugin is not None:
        description = (
            'Check this plugin and publish it to the backend as release <code>@<version>. A dry run '
            '(the default) only checks it and describes the archive; "dry_run": false uploads it.'
        )
        tools.append(
            _tool(
                'synapse_publish_plugin',
                'Publish the plugin',
                description,
                PublishArgs,
                lambda a: _publish(plugin, a.dry_run, backend),
                hints=_PUBLISH,
            )
        )
    return tools


def _tool(
    name: str,
    title: str,
    description: str,
    model: type[_Args],
    run: Callable[[Any], Any],
    *,
    hints: ToolHints = _READ,
) -> ToolSpec:
    def call(arguments: dict[str, Any]) -> Any:
        return run(_validated(model, arguments))

    return ToolSpec(name, title, description, model.model_json_schema(), hints, call)


def _validated(model: type[_Args], arguments: dict[str, Any]) -> _Args:
    """The arguments as ``model``, or the same field-by-field ``ValidationError`` an action's params get."""
    from synapse_sdk.plugins._params_check import inspect_params
    from synapse_sdk.plugins.executors._run import params_error

    problems = inspect_params(model, arguments)
    try:
        validated = model.model_validate(arguments)
    except pydantic.ValidationError as exc:
        raise params_error(exc, problems) from None
    if problems:
        raise ValidationError('Parameter validation failed: ' + '; '.join(p.message for p in problems))
    return validated


def _page(resource: Any, args: Any, filters: dict[str, Any]) -> dict[str, Any]:
    """One page of a list endpoint: only that page is read."""
    query = {key: value for key, value in filters.items() if value is not None}
    query.update(page=args.page, page_size=args.page_size)
    items, count = resource.list(query, list_all=True)
    return {
        'count': count,
        'page': args.page,
        'page_size': args.page_size,
        'results': list(itertools.islice(items, args.page_size)),
    }


def _progress(job: dict[str, Any]) -> dict[str, Any]:
    status = job.get('status')
    try:
        finished: bool | None = JobStatus(str(status)).is_terminal()
    except ValueError:
        finished = None
    return {
        'id': job.get('id'),
        'action': job.get('action'),
        'status': status,
        'finished': finished,
        'progress': job.get('progress_record'),
        'metrics': job.get('metrics_record'),
        'updated_at': job.get('updated_at'),
    }


def _publish(folder: Path, dry_run: bool, backend: BackendHandle) -> dict[str, Any]:
    from synapse_sdk.plugins.publish import prepare_release

    release = prepare_release(folder)
    label = f'{release.code}@{release.version}'
    manifest = release.manifest
    described = {
        'release': label,
        'files': [item.path for item in manifest.shipped],
        'size': manifest.total_size,
        'archive_size': len(release.archive),
        'sha256': release.sha256,
        'left_out': [{'path': item.path, 'reason': item.reason} for item in manifest.excluded],
    }
    if dry_run:
        return {'dry_run': True, 'published': False, **described}
    reply = backend.get().plugin_releases.publish(release.code, release.version, release.config, release.archive)
    return {'dry_run': False, 'published': True, 'id': reply.get('id'), **described}
