"""ToTask's data: params, result, one task's outcome, the pre-processor served for inference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from synapse_sdk.enums import JobStatus

MIB = 1 << 20


class ToTaskMethod(StrEnum):
    """Where annotations come from."""

    FILE = 'file'  #: a JSON file of the task's data unit
    INFERENCE = 'inference'  #: a pre-processor served by Ray Serve


class TaskProcessStatus(StrEnum):
    """Outcome of one task."""

    SUCCESS = 'success'
    FAILED = 'failed'
    SKIPPED = 'skipped'  #: already annotated by an earlier run of the same job (resume)


class _TaskFilterLimit(BaseModel):
    """The one key of ``task_filters`` ToTask reads itself (the rest go to the server verbatim)."""

    model_config = ConfigDict(extra='ignore')

    limit: int | None = None

    @field_validator('limit', mode='before')
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PydanticCustomError('limit', 'must be a whole number >= 0, or null for no limit')
        return value


class ToTaskParams(BaseModel):
    """Params of the to_task action."""

    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(min_length=1, description='Job name (no whitespace)')
    description: str | None = None
    project: int = Field(description='Project id')
    agent: int = Field(description='Agent id')
    task_filters: dict[str, Any] = Field(default_factory=dict, description='Task query filters')
    method: ToTaskMethod = ToTaskMethod.FILE
    target_specification_name: str | None = Field(
        default=None, validate_default=True, description='File specification holding the annotation JSON (file)'
    )
    pre_processor: int | None = Field(default=None, validate_default=True, description='Pre-processor release id')
    model: int | None = Field(default=None, validate_default=True, description='Model id (inference)')
    pre_processor_params: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = Field(default=1, ge=1)
    schema_name: Literal['dm_schema_v1', 'any'] = Field(default='dm_schema_v1', alias='schema')
    concurrency: int = Field(default=16, ge=1, description='Tasks processed at once')
    pre_processor_timeout_seconds: float = Field(default=180, gt=0)
    pre_processor_poll_seconds: float = Field(default=10, gt=0)
    resume: bool = Field(default=True, description='Skip tasks an earlier run of the same job annotated')
    retry_failed: bool = Field(default=False, description="Process only the tasks the previous run's ledger failed")
    annotate_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Extra attempts of a task's PUT that failed on the server's side and, read back, did not write",
    )
    max_annotation_file_mb: int = Field(
        default=64, ge=1, le=4096, description='Largest annotation file read (MiB); a larger one fails its task'
    )
    retry_budget_seconds: float = Field(
        default=300, gt=0, description="Seconds the annotate step's requests may spend, together, waiting to be retried"
    )
    dry_run: bool = Field(
        default=False,
        description='Fetch, convert or infer and validate, but write nothing: proposals go to a run record to review',
    )
    sample: int | None = Field(default=None, ge=1, description='Only this many of the matching tasks (the first N)')
    sample_seed: int | None = Field(
        default=None, description='With sample: a random N of the matching tasks, drawn with this seed'
    )
    record_run: bool = Field(
        default=True, description="Keep a run record (each written task's prior data) so the run can be undone"
    )

    @property
    def max_annotation_bytes(self) -> int:
        return self.max_annotation_file_mb * MIB

    @field_validator('task_filters')
    @classmethod
    def _check_limit(cls, value: dict[str, Any]) -> dict[str, Any]:
        if 'limit' not in value:
            return value
        return {**value, 'limit': _TaskFilterLimit.model_validate(value).limit}

    @field_validator('sample_seed')
    @classmethod
    def _seed_needs_sample(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get('sample') is None:
            raise PydanticCustomError('seed_without_sample', 'needs sample (how many tasks to draw)')
        return value

    @field_validator('name')
    @classmethod
    def _no_whitespace(cls, value: str) -> str:
        if any(ch.isspace() for ch in value):
            raise PydanticCustomError('whitespace', 'must not contain whitespace')
        return value

    @field_validator('target_specification_name')
    @classmethod
    def _spec_for_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get('method') == ToTaskMethod.FILE and not value:
            raise PydanticCustomError('required_for_method', 'required for file method')
        return value

    @field_validator('pre_processor', 'model')
    @classmethod
    def _needed_for_inference(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get('method') == ToTaskMethod.INFERENCE and value is None:
            raise PydanticCustomError('required_for_method', 'required for inference method')
        return value


class TaskFailure(BaseModel):
    """One task that could not be annotated."""

    task_id: int
    error: str


class ToTaskResult(BaseModel):
    """What a to_task run did: FAILED when every task failed, else SUCCEEDED (see ``failed_count``)."""

    status: JobStatus
    message: str
    total_tasks: int = 0
    success_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    failures: list[TaskFailure] = Field(default_factory=list)
    dry_run: bool = False  #: nothing was written; ``success_count`` counts proposals
    run_id: str | None = None  #: the run record (``synapse review RUN``, ``synapse to-task undo RUN``)
    summary: dict[str, Any] | None = None  #: a dry run's proposals: objects added/removed/changed, per class


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How one task ended."""

    task_id: int
    status: TaskProcessStatus
    error: str | None = None


@dataclass(frozen=True)
class InferenceTarget:
    """The pre-processor release ToTask calls for each task (its serve application is RUNNING)."""

    code: str
    version: str
    config: Mapping[str, Any] = field(default_factory=dict)
    max_batch_size: int | None = None  #: the release's ``serve_options.batch.max_batch_size``
    batch_size: int = 1  #: the window size used (to_task.md §2)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def release_max_batch_size(config: Mapping[str, Any]) -> int | None:
    """``actions.deployment`` (else ``actions.inference``) ``.serve_options.batch.max_batch_size``, if set."""
    actions = _dict(config.get('actions'))
    for name in ('deployment', 'inference'):
        batch = _dict(_dict(_dict(actions.get(name)).get('serve_options')).get('batch'))
        value = batch.get('max_batch_size')
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None
