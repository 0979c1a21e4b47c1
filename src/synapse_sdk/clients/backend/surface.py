"""The backend's resource namespaces and the seeds' flat method names, shared by every shell.

``BackendClient`` (sync), ``AsyncBackendClient`` and the bulk session (``BulkSession``) mount the same
resources on their own I/O: sync methods return values, the others awaitables of the same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synapse_sdk.clients.backend._resource import Executor, Reply
from synapse_sdk.clients.backend.catalog import ModelsResource, StoragesResource
from synapse_sdk.clients.backend.datasets import DatasetsResource
from synapse_sdk.clients.backend.jobs import JobsResource, LogsResource
from synapse_sdk.clients.backend.plugins import PluginReleasesResource, PluginsResource
from synapse_sdk.clients.backend.projects import (
    DataCollectionsResource,
    DataFilesResource,
    DataUnitsResource,
    ProjectsResource,
)
from synapse_sdk.clients.backend.serving import AgentsResource, ServeApplicationsResource
from synapse_sdk.clients.backend.tasks import TasksResource

__all__ = ['BackendSurface']


class BackendSurface:
    """Namespaces and flat aliases, shared by both shells."""

    def _mount(self, executor: Executor) -> None:
        self.projects = ProjectsResource(executor)
        self.data_collections = DataCollectionsResource(executor)
        self.data_units = DataUnitsResource(executor)
        self.data_files = DataFilesResource(executor)
        self.tasks = TasksResource(executor)
        self.plugins = PluginsResource(executor)
        self.plugin_releases = PluginReleasesResource(executor)
        self.jobs = JobsResource(executor)
        self.logs = LogsResource(executor)
        self.serve_applications = ServeApplicationsResource(executor)
        self.agents = AgentsResource(executor)
        self.models = ModelsResource(executor)
        self.datasets = DatasetsResource(executor)
        self.storages = StoragesResource(executor)

    # flat aliases (the seeds' names)
    def get_project(self, project_id: int) -> Reply:
        return self.projects.get(project_id)

    def get_data_collection(self, collection_id: int) -> Reply:
        return self.data_collections.get(collection_id)

    def get_data_unit(self, unit_id: int, params: dict[str, Any] | None = None) -> Reply:
        return self.data_units.get(unit_id, params)

    def list_tasks(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.tasks.list(params, list_all=list_all)

    def list_tasks_data(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.tasks.list_data(params, list_all=list_all)

    def list_tasks_files(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Reply:
        return self.tasks.list_files(params, list_all=list_all)

    def set_tags_tasks(self, data: Mapping[str, Any]) -> Reply:
        """``{'ids': [...], 'tags': [...], 'action': 'add' | 'remove'}``."""
        return self.tasks.set_tags(data['ids'], data['tags'], data.get('action', 'add'))

    def get_task(self, task_id: int, params: Mapping[str, Any] | None = None) -> Reply:
        return self.tasks.get(task_id, params)

    def annotate_task_data(self, task_id: int, data: Mapping[str, Any], *, schema: str | None = None) -> Reply:
        return self.tasks.annotate(task_id, data, schema=schema)

    def download_json(self, url: str) -> Reply:
        return self.data_files.download_json(url)

    def download_file(self, url: str, *, max_bytes: int | None = None) -> Reply:
        """The bytes at ``url`` (auth headers only to the backend's host); past ``max_bytes``, ResponseTooLargeError."""
        return self.data_files.download(url, max_bytes=max_bytes)

    def get_plugin_release(self, ident: int | str) -> Reply:
        return self.plugin_releases.get(ident)

    def run_plugin(self, code: str, data: Mapping[str, Any]) -> Reply:
        return self.plugins.run(code, data)

    def list_serve_applications(
        self, params: Mapping[str, Any] | None = None, list_all: bool = False, **filters: Any
    ) -> Reply:
        return self.serve_applications.list(params, list_all=list_all, **filters)

    def get_job(self, job_id: int | str) -> Reply:
        return self.jobs.get(job_id)

    def update_job(self, job_id: int | str, data: Mapping[str, Any]) -> Reply:
        return self.jobs.update(job_id, data)

    def create_logs(self, entries: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Reply:
        return self.logs.create(entries)

    def list_agents(self, params: Mapping[str, Any] | None = None) -> Reply:
        return self.agents.list(params)

    def get_model(self, model_id: int) -> Reply:
        return self.models.get(model_id)

    def list_models(self, params: Mapping[str, Any] | None = None) -> Reply:
        return self.models.list(params)

    def create_model(self, data: Mapping[str, Any]) -> Reply:
        """``{'file': <path or uploaded file id>, 'name': ..., ...}``; a path is uploaded first."""
        return self.models.create(data)

    def get_dataset(self, dataset_id: int, params: Mapping[str, Any] | None = None) -> Reply:
        """A training dataset with all its items (``ground_truth_dataset_versions/{id}/`` + its events)."""
        return self.datasets.get(dataset_id, params)

    def get_storage(self, storage_id: int) -> Reply:
        return self.storages.get(storage_id)
