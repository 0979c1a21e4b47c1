"""The tables of the local backend (SQLAlchemy 2 ORM)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    'AccessToken',
    'Agent',
    'Assignment',
    'Base',
    'DataCollection',
    'DataFile',
    'DataUnit',
    'DatasetItem',
    'DatasetVersion',
    'GroundTruthDataset',
    'GroundTruthDatasetLink',
    'Instance',
    'Job',
    'LogEntry',
    'Model',
    'PipelineCheckpoint',
    'PipelineRun',
    'Plugin',
    'PluginRelease',
    'Project',
    'ServeApplication',
    'SigningKey',
    'Storage',
    'Task',
    'TaskTag',
    'TaskTagLink',
    'TokenScope',
    'utcnow',
]


def utcnow() -> datetime:
    """Naive UTC, as stored (SQLite has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Instance(Base):
    """The one row that names this backend: ``uuid`` is made with the database and never changes.

    Clients key what they remember about a backend (ToTask's resume ledger) on it rather than on the
    URL, which differs between spellings and repeats across state directories.
    """

    __tablename__ = 'instance'
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    __tablename__ = 'access_tokens'
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # 'access' or 'user'
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    name: Mapped[str] = mapped_column(String(200), default='')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenScope(Base):
    """A restriction of one access token (a table of its own, so that older databases get it from ``create_all``).

    ``scope='read'``: the token may only GET and HEAD. A token without a row here may do anything.
    """

    __tablename__ = 'token_scopes'
    token_id: Mapped[int] = mapped_column(ForeignKey('access_tokens.id', ondelete='CASCADE'), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))


class DataCollection(Base):
    __tablename__ = 'data_collections'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    file_specifications: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = 'projects'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default='')
    data_collection_id: Mapped[int | None] = mapped_column(ForeignKey('data_collections.id'))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataFile(Base):
    __tablename__ = 'data_files'
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500))  # relative to the storage folder
    file_name_original: Mapped[str] = mapped_column(String(500))
    size: Mapped[int]
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 hex
    content_type: Mapped[str] = mapped_column(String(200), default='application/octet-stream')
    #: set for files kept in external storage: served by their own URL, not from the storage folder
    external_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataUnit(Base):
    __tablename__ = 'data_units'
    __table_args__ = (UniqueConstraint('data_collection_id', 'key'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    data_collection_id: Mapped[int] = mapped_column(ForeignKey('data_collections.id'))
    key: Mapped[str | None] = mapped_column(String(500))  # e.g. the file stem on import
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)  # spec name → {file: id, is_primary}
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = 'tasks'
    __table_args__ = (Index('ix_tasks_project_id', 'project_id', 'id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects.id'))
    data_unit_id: Mapped[int | None] = mapped_column(ForeignKey('data_units.id'), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), default='pending')
    assignee: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Plugin(Base):
    __tablename__ = 'plugins'
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200), default='')
    category: Mapped[str] = mapped_column(String(64), default='custom')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PluginRelease(Base):
    __tablename__ = 'plugin_releases'
    __table_args__ = (UniqueConstraint('plugin_id', 'version'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plugin_id: Mapped[int] = mapped_column(ForeignKey('plugins.id'))
    version: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    debug: Mapped[bool] = mapped_column(default=False)
    file_id: Mapped[int | None] = mapped_column(ForeignKey('data_files.id'))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = 'agents'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))  # None: the local backend itself
    #: sha256 hex of the agent's token (column ``token``, which older databases filled with the token itself)
    token_digest: Mapped[str] = mapped_column('token', String(200), unique=True)
    status: Mapped[str] = mapped_column(String(32), default='connected')
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = 'jobs'
    id: Mapped[int] = mapped_column(primary_key=True)
    plugin_release_id: Mapped[int | None] = mapped_column(ForeignKey('plugin_releases.id'))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey('agents.id'))
    action: Mapped[str] = mapped_column(String(200), default='')
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), default='PENDING')
    progress_record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics_record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[Any | None] = mapped_column(JSON)
    console_logs: Mapped[str] = mapped_column(Text, default='')
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogEntry(Base):
    __tablename__ = 'logs'
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey('jobs.id'), index=True)
    event: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    datetime: Mapped[str] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(32))
    file: Mapped[str | None] = mapped_column(Text)


class ServeApplication(Base):
    __tablename__ = 'serve_applications'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), default='NOT_STARTED')
    plugin_code: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(ForeignKey('jobs.id'))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey('agents.id'))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Model(Base):
    __tablename__ = 'models'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plugin_release_id: Mapped[int | None] = mapped_column(ForeignKey('plugin_releases.id'))
    file_id: Mapped[int | None] = mapped_column(ForeignKey('data_files.id'))
    metadata_: Mapped[dict[str, Any]] = mapped_column('metadata', default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Storage(Base):
    __tablename__ = 'storages'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(64))
    configuration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """A training dataset (the platform's ground truth dataset version): what ``get_dataset()`` fetches."""

    __tablename__ = 'ground_truth_dataset_versions'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data_collection_id: Mapped[int | None] = mapped_column(ForeignKey('data_collections.id'))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetItem(Base):
    """One labelled item of a dataset (the platform's ground truth event): a data unit and its labels."""

    __tablename__ = 'ground_truth_events'
    __table_args__ = (Index('ix_ground_truth_events_version', 'dataset_version_id', 'id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey('ground_truth_dataset_versions.id'))
    data_unit_id: Mapped[int | None] = mapped_column(ForeignKey('data_units.id'))
    category: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SigningKey(Base):
    """The key that signs this backend's presigned file URLs (made on first use; a table of its own,
    so that older databases get it from ``create_all``). Links signed with it die with the database."""

    __tablename__ = 'signing_keys'
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))  # hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskTag(Base):
    """A tag tasks of a project can carry (the platform's task tag)."""

    __tablename__ = 'task_tags'
    __table_args__ = (UniqueConstraint('project_id', 'name'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey('projects.id'), index=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(16), default='project')
    description: Mapped[str] = mapped_column(Text, default='')
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskTagLink(Base):
    """A tag one task carries (a table of its own, so that older databases get it from ``create_all``)."""

    __tablename__ = 'task_tag_links'
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks.id'), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey('task_tags.id'), primary_key=True, index=True)


class GroundTruthDataset(Base):
    """A training dataset whose versions are :class:`DatasetVersion` rows (the platform's ground truth dataset)."""

    __tablename__ = 'ground_truth_datasets'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data_collection_id: Mapped[int | None] = mapped_column(ForeignKey('data_collections.id'))
    project_id: Mapped[int | None] = mapped_column(ForeignKey('projects.id'))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroundTruthDatasetLink(Base):
    """Which dataset a version belongs to (a table of its own, so that older databases keep their
    ``ground_truth_dataset_versions`` table as it is and get this one from ``create_all``)."""

    __tablename__ = 'ground_truth_dataset_links'
    version_id: Mapped[int] = mapped_column(ForeignKey('ground_truth_dataset_versions.id'), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey('ground_truth_datasets.id'), index=True)


class Assignment(Base):
    """One person's work on a task (the platform's assignment): its annotation data and review state."""

    __tablename__ = 'assignments'
    __table_args__ = (Index('ix_assignments_project', 'project_id', 'id'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey('projects.id'))
    task_id: Mapped[int] = mapped_column(ForeignKey('tasks.id'), index=True)
    user: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status_label: Mapped[str] = mapped_column(String(16), default='stand_by')
    status_review: Mapped[str] = mapped_column(String(16), default='stand_by')
    is_confirmed: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PipelineRun(Base):
    """One run of an action pipeline (``pipeline_runs/``); ``resumed_from`` names the run it continues."""

    __tablename__ = 'pipeline_runs'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default='')
    status: Mapped[str] = mapped_column(String(16), default='pending', index=True)
    actions: Mapped[list[Any]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[Any | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    resumed_from: Mapped[int | None] = mapped_column(ForeignKey('pipeline_runs.id'), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PipelineCheckpoint(Base):
    """Taken after one action of a run finished: the running params and result the next action needs."""

    __tablename__ = 'pipeline_checkpoints'
    __table_args__ = (UniqueConstraint('run_id', 'action_index'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey('pipeline_runs.id', ondelete='CASCADE'), index=True)
    action_index: Mapped[int]
    action_name: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[Any | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
