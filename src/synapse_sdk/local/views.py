"""The ``fields=`` / ``expand=`` / ``ordering=`` whitelist of every resource (keys as serialized)."""

from __future__ import annotations

from synapse_sdk.local import models as m
from synapse_sdk.local.pagination import View

__all__ = [
    'AGENTS',
    'DATASETS',
    'DATASET_ITEMS',
    'DATA_COLLECTIONS',
    'DATA_FILES',
    'DATA_UNITS',
    'GROUND_TRUTHS',
    'GROUND_TRUTH_DATASETS',
    'JOBS',
    'LOGS',
    'MODELS',
    'PLUGINS',
    'PROJECTS',
    'RELEASES',
    'SERVE_APPLICATIONS',
    'STORAGES',
    'TASKS',
    'TASK_TAGS',
]

PROJECTS = View(
    'projects',
    ('id', 'name', 'description', 'data_collection', 'created_at'),
    {'id': m.Project.id, 'name': m.Project.name, 'created_at': m.Project.created_at},
)
DATA_COLLECTIONS = View(
    'data collections',
    ('id', 'name', 'file_specifications', 'created_at'),
    {'id': m.DataCollection.id, 'name': m.DataCollection.name, 'created_at': m.DataCollection.created_at},
    expandable=('file_specifications',),  # always inlined; expanding it is a no-op, as on the platform
)
DATA_FILES = View('data files', ('id', 'url', 'file_name_original', 'size', 'checksum', 'content_type'))
DATA_UNITS = View(
    'data units',
    ('id', 'data_collection', 'key', 'files', 'meta', 'created_at'),
    {'id': m.DataUnit.id, 'key': m.DataUnit.key, 'created_at': m.DataUnit.created_at},
    expandable=('files',),  # always inlined; accepted because clients ask for it
)
TASKS = View(
    'tasks',
    ('id', 'project', 'data_unit', 'data', 'status', 'assignee', 'created_at', 'updated_at'),
    {
        'id': m.Task.id,
        'status': m.Task.status,
        'assignee': m.Task.assignee,
        'data_unit': m.Task.data_unit_id,
        'created_at': m.Task.created_at,
        'updated_at': m.Task.updated_at,
    },
    expandable=('data_unit',),
)
PLUGINS = View(
    'plugins',
    ('id', 'code', 'name', 'category', 'created_at'),
    {'id': m.Plugin.id, 'code': m.Plugin.code, 'name': m.Plugin.name, 'created_at': m.Plugin.created_at},
)
RELEASES = View(
    'plugin releases',
    ('id', 'plugin', 'code', 'version', 'config', 'debug', 'file', 'created_at'),
    {'id': m.PluginRelease.id, 'version': m.PluginRelease.version, 'created_at': m.PluginRelease.created_at},
    expandable=('plugin',),
)
JOBS = View(
    'jobs',
    (
        'id',
        'plugin_release',
        'agent',
        'action',
        'params',
        'status',
        'progress_record',
        'metrics_record',
        'result',
        'meta',
        'created_at',
        'updated_at',
    ),
    {
        'id': m.Job.id,
        'status': m.Job.status,
        'action': m.Job.action,
        'created_at': m.Job.created_at,
        'updated_at': m.Job.updated_at,
    },
)
LOGS = View(
    'logs',
    ('id', 'event', 'data', 'datetime', 'job', 'step', 'level', 'file'),
    {'id': m.LogEntry.id, 'datetime': m.LogEntry.datetime, 'event': m.LogEntry.event},
)
AGENTS = View(
    'agents',
    ('id', 'name', 'url', 'status'),
    {'id': m.Agent.id, 'name': m.Agent.name, 'status': m.Agent.status},
)
SERVE_APPLICATIONS = View(
    'serve applications',
    ('id', 'name', 'status', 'plugin_code', 'version', 'job', 'agent', 'message', 'meta', 'created_at'),
    {
        'id': m.ServeApplication.id,
        'name': m.ServeApplication.name,
        'status': m.ServeApplication.status,
        'created_at': m.ServeApplication.created_at,
    },
)
MODELS = View(
    'models',
    ('id', 'name', 'plugin_release', 'file', 'metadata', 'created_at'),
    {'id': m.Model.id, 'name': m.Model.name, 'created_at': m.Model.created_at},
)
STORAGES = View(
    'storages',
    ('id', 'name', 'provider', 'configuration', 'created_at'),
    {'id': m.Storage.id, 'name': m.Storage.name, 'created_at': m.Storage.created_at},
)
DATASETS = View(
    'ground truth dataset versions',
    ('id', 'name', 'ground_truth_dataset', 'data_collection', 'count', 'created_at'),
    {'id': m.DatasetVersion.id, 'name': m.DatasetVersion.name, 'created_at': m.DatasetVersion.created_at},
)
DATASET_ITEMS = View(
    'ground truth events',
    ('id', 'ground_truth_dataset_version', 'data_unit', 'category', 'data', 'created_at'),
    {'id': m.DatasetItem.id, 'category': m.DatasetItem.category, 'created_at': m.DatasetItem.created_at},
    expandable=('data_unit',),
)
GROUND_TRUTHS = View(
    'ground truths',
    (
        'id',
        'ground_truth_dataset',
        'ground_truth_dataset_version',
        'data_unit',
        'category',
        'data',
        'files',
        'created_at',
    ),
    {'id': m.DatasetItem.id, 'category': m.DatasetItem.category, 'created_at': m.DatasetItem.created_at},
    expandable=('files',),  # always inlined; accepted because clients ask for it
)
GROUND_TRUTH_DATASETS = View(
    'ground truth datasets',
    ('id', 'name', 'project', 'data_collection', 'versions', 'created_at'),
    {
        'id': m.GroundTruthDataset.id,
        'name': m.GroundTruthDataset.name,
        'created_at': m.GroundTruthDataset.created_at,
    },
)
TASK_TAGS = View(
    'task tags',
    ('id', 'project', 'name', 'category', 'description', 'meta', 'created_at'),
    {'id': m.TaskTag.id, 'name': m.TaskTag.name, 'created_at': m.TaskTag.created_at},
)
