"""Params and result of :class:`~synapse_sdk.plugins.actions.upload.BaseUploadAction`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ['UnitFailure', 'UploadParams', 'UploadResult']


class UploadParams(BaseModel):
    """What to upload, from where, into which data collection (and project).

    ``storage``: a storage id of the backend (``storages/{id}/``: its credentials stay on the backend)
    or a config ``{'provider': ..., 'configuration': {...}}``.
    """

    model_config = ConfigDict(extra='forbid')

    name: str = Field(default='upload', min_length=1, max_length=200)
    storage: int | dict[str, Any]
    path: str = Field(default='', description='folder inside the storage to upload from')
    data_collection: int = Field(ge=1)
    project: int | None = Field(default=None, ge=1, description='when set, one task per data unit is created in it')
    discovery: Literal['flat', 'recursive', 'spec'] = 'recursive'
    spec_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="discovery='spec': file specification name -> glob under path, e.g. {'image': 'images/*.jpg'}",
    )
    mode: Literal['copy', 'reference'] = Field(
        default='copy', description="'copy' the bytes to the backend, or 'reference' the storage URL of each file"
    )
    concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator('spec_patterns')
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for spec, pattern in value.items():
            if not pattern.strip() or pattern.startswith('/') or '..' in pattern.split('/'):
                raise ValueError(f"spec_patterns.{spec}: {pattern!r} must be a relative glob such as 'images/*.jpg'")
        return value


class UnitFailure(BaseModel):
    key: str
    error: str


class UploadResult(BaseModel):
    """Counts of one run; ``created + existing + skipped + failed == total``."""

    total: int = 0
    created: int = 0  #: data units made by this run
    existing: int = 0  #: found on the backend by key (made by an earlier, interrupted run)
    skipped: int = 0  #: recorded as done in this run's ledger
    failed: int = 0
    tasks_created: int = 0
    incomplete: list[str] = Field(default_factory=list)  #: keys without a file for a required spec (not uploaded)
    failures: list[UnitFailure] = Field(default_factory=list)
