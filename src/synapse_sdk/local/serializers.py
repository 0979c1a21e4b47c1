"""Rows → the JSON shapes of the platform API (spec: backend-api.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from synapse_sdk.local import models as m
from synapse_sdk.local.storage import FileLinks

__all__ = [
    'agent_out',
    'data_collection_out',
    'data_file_out',
    'data_unit_out',
    'dataset_item_out',
    'dataset_version_out',
    'ground_truth_dataset_out',
    'ground_truth_out',
    'iso',
    'job_out',
    'model_out',
    'plugin_out',
    'project_out',
    'release_out',
    'serve_app_out',
    'storage_out',
    'task_out',
    'task_tag_out',
]


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec='microseconds') + 'Z'


def project_out(row: m.Project) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'description': row.description,
        'data_collection': row.data_collection_id,
        'created_at': iso(row.created_at),
    }


def data_collection_out(row: m.DataCollection) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'file_specifications': row.file_specifications,
        'created_at': iso(row.created_at),
    }


def data_file_out(row: m.DataFile, links: FileLinks) -> dict[str, Any]:
    return {
        'id': row.id,
        'url': row.external_url or links.url(row.id),
        'file_name_original': row.file_name_original,
        'size': row.size,
        'checksum': row.checksum,
        'content_type': row.content_type,
    }


def unit_files_out(files: Mapping[str, Any], data_files: Mapping[int, m.DataFile], links: FileLinks) -> dict[str, Any]:
    """The dict form: ``{spec: {url, is_primary, file_name_original, ...}}`` (``url`` presigned)."""
    out = {}
    for spec, entry in files.items():
        row = data_files.get(entry['file'])
        if row is None:
            continue
        out[spec] = {**data_file_out(row, links), 'is_primary': bool(entry.get('is_primary', False))}
    return out


def data_unit_out(row: m.DataUnit, data_files: Mapping[int, m.DataFile], links: FileLinks) -> dict[str, Any]:
    return {
        'id': row.id,
        'data_collection': row.data_collection_id,
        'key': row.key,
        'files': unit_files_out(row.files, data_files, links),
        'meta': row.meta,
        'created_at': iso(row.created_at),
    }


def task_out(row: m.Task, data_unit: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        'id': row.id,
        'project': row.project_id,
        'data_unit': data_unit if data_unit is not None else row.data_unit_id,
        'data': row.data,
        'status': row.status,
        'assignee': row.assignee,
        'created_at': iso(row.created_at),
        'updated_at': iso(row.updated_at),
    }


def plugin_out(row: m.Plugin) -> dict[str, Any]:
    return {
        'id': row.id,
        'code': row.code,
        'name': row.name,
        'category': row.category,
        'created_at': iso(row.created_at),
    }


def release_out(row: m.PluginRelease, plugin: m.Plugin, links: FileLinks, *, expand: bool = False) -> dict[str, Any]:
    """A release; ``expand`` inlines its plugin (``expand=plugin``) instead of the plugin's id."""
    return {
        'id': row.id,
        'plugin': plugin_out(plugin) if expand else plugin.id,
        'code': plugin.code,
        'version': row.version,
        'config': row.config,
        'debug': row.debug,
        'file': links.url(row.file_id) if row.file_id else None,
        'created_at': iso(row.created_at),
    }


def job_out(row: m.Job) -> dict[str, Any]:
    return {
        'id': row.id,
        'plugin_release': row.plugin_release_id,
        'agent': row.agent_id,
        'action': row.action,
        'params': row.params,
        'status': row.status,
        'progress_record': row.progress_record,
        'metrics_record': row.metrics_record,
        'result': row.result,
        'meta': row.meta,
        'created_at': iso(row.created_at),
        'updated_at': iso(row.updated_at),
    }


def agent_out(row: m.Agent, base_url: str) -> dict[str, Any]:
    """An agent; the local agent (no URL of its own) is served by this backend under ``agent/``.

    No ``token`` (the spec's ``token?``): only its digest is kept. ``POST agents/`` shows a new agent's
    token once; the local agent's is in ``<state dir>/agent_token``.
    """
    return {
        'id': row.id,
        'name': row.name,
        'url': row.url or f'{base_url.rstrip("/")}/agent/',
        'status': row.status,
    }


def serve_app_out(row: m.ServeApplication) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'status': row.status,
        'plugin_code': row.plugin_code,
        'version': row.version,
        'job': row.job_id,
        'agent': row.agent_id,
        'message': (row.meta or {}).get('message'),
        'meta': row.meta,
        'created_at': iso(row.created_at),
    }


def model_out(row: m.Model, links: FileLinks) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'plugin_release': row.plugin_release_id,
        'file': links.url(row.file_id) if row.file_id else None,
        'metadata': row.metadata_,
        'created_at': iso(row.created_at),
    }


def storage_out(row: m.Storage) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'provider': row.provider,
        'configuration': row.configuration,
        'created_at': iso(row.created_at),
    }


def dataset_version_out(row: m.DatasetVersion, count: int, dataset: int | None = None) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'ground_truth_dataset': dataset,
        'data_collection': row.data_collection_id,
        'count': count,
        'created_at': iso(row.created_at),
    }


def ground_truth_dataset_out(row: m.GroundTruthDataset, versions: list[int]) -> dict[str, Any]:
    return {
        'id': row.id,
        'name': row.name,
        'project': row.project_id,
        'data_collection': row.data_collection_id,
        'versions': versions,
        'created_at': iso(row.created_at),
    }


def ground_truth_out(row: m.DatasetItem, files: dict[str, Any], dataset: int | None) -> dict[str, Any]:
    """A ground truth: one labelled item with its data unit's files inlined (presigned ``url``s)."""
    return {
        'id': row.id,
        'ground_truth_dataset': dataset,
        'ground_truth_dataset_version': row.dataset_version_id,
        'data_unit': row.data_unit_id,
        'category': row.category,
        'data': row.data,
        'files': files,
        'created_at': iso(row.created_at),
    }


def task_tag_out(row: m.TaskTag) -> dict[str, Any]:
    return {
        'id': row.id,
        'project': row.project_id,
        'name': row.name,
        'category': row.category,
        'description': row.description,
        'meta': row.meta,
        'created_at': iso(row.created_at),
    }


def dataset_item_out(row: m.DatasetItem, data_unit: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        'id': row.id,
        'ground_truth_dataset_version': row.dataset_version_id,
        'data_unit': data_unit if data_unit is not None else row.data_unit_id,
        'category': row.category,
        'data': row.data,
        'created_at': iso(row.created_at),
    }
