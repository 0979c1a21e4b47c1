"""The tables of the local backend (SQLAlchemy 2 ORM)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    'AccessToken',
    'Agent',
    'Base',
    'DataCollection',
    'DataFile',
    'DataUnit',
    'DatasetItem',
    'DatasetVersion',
    'Instance',
    'Job',
    'LogEntry',
    'Model',
    'Plugin',
    'PluginRelease',
    'Project',
    'ServeApplication',
    'Storage',
    'Task',
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
