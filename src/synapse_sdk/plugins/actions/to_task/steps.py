"""The five ToTask steps: initialize, prepare, fetch_tasks, annotate_task_data, finalize."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from synapse_sdk.plugins.actions.to_task._release import max_batch_size
from synapse_sdk.plugins.actions.to_task.annotate import annotate_all
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.models import ToTaskMethod
from synapse_sdk.plugins.steps import BaseStep, StepResult
from synapse_sdk.plugins.steps.orchestrator import StepFailure
from synapse_sdk.utils.redact import sanitize_urls

#: progress weights per method: (file, inference)
WEIGHTS = {
    'initialize': (10, 10),
    'prepare': (5, 20),
    'fetch_tasks': (10, 10),
    'annotate_task_data': (70, 60),
    'finalize': (5, 5),
}


def as_step_failure(prefix: str, exc: Exception) -> StepFailure:
    """``<prefix>: <sanitised error>``; raise it ``from exc`` so the StepError's cause is ``exc``."""
    return StepFailure(f'{prefix}: {sanitize_urls(str(exc)) or type(exc).__name__}')


class ToTaskStep(BaseStep[ToTaskContext]):
    """A step whose weight depends on the method."""

    step_name = ''

    def __init__(self, method: ToTaskMethod) -> None:
        self.method = method

    @property
    def name(self) -> str:
        return self.step_name

    @property
    def progress_weight(self) -> float:
        file_weight, inference_weight = WEIGHTS[self.step_name]
        return inference_weight if self.method is ToTaskMethod.INFERENCE else file_weight


class InitializeStep(ToTaskStep):
    """Load the project and its data collection."""

    step_name = 'initialize'

    def can_skip(self, context: ToTaskContext) -> bool:
        return context.data_collection is not None

    def execute(self, context: ToTaskContext) -> StepResult:
        if context.client is None:
            raise StepFailure('No backend client in context')
        params = context.typed_params
        if params is None or not params.project:
            raise StepFailure('Project parameter is required')
        try:
            project = context.client.get_project(params.project)
            if not isinstance(project, dict):
                raise StepFailure('Invalid project response')
            collection_id = project.get('data_collection')
            if not collection_id:
                raise StepFailure('Project does not have a data collection')
            collection = context.client.get_data_collection(collection_id)
            if not isinstance(collection, dict):
                raise StepFailure('Invalid data collection response')
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to initialize', exc) from exc
        context.project, context.data_collection = project, collection
        return StepResult(data={'data_collection': collection_id})

    def rollback(self, context: ToTaskContext, result: StepResult) -> None:
        context.project = context.data_collection = None


class PrepareStep(ToTaskStep):
    """Check the target specification (file) or make sure the pre-processor runs (inference)."""

    step_name = 'prepare'

    def can_skip(self, context: ToTaskContext) -> bool:
        return self.method is ToTaskMethod.INFERENCE and context.inference is not None

    def execute(self, context: ToTaskContext) -> StepResult:
        params = context.typed_params
        assert params is not None
        if self.method is ToTaskMethod.INFERENCE:
            assert context.action is not None
            context.inference = context.action.prepare_inference(context)
            context.batch_size = context.inference['batch_size']
            return StepResult(data={'inference': context.inference})
        spec = params.target_specification_name
        if not spec:
            raise StepFailure('target_specification_name is required for file method')
        if context.data_collection is None:
            raise StepFailure('Data collection not loaded')
        try:
            names = [
                s.get('name') for s in context.data_collection.get('file_specifications') or [] if isinstance(s, dict)
            ]
        except Exception as exc:
            raise as_step_failure('Failed to validate target specification', exc) from exc
        if spec not in names:
            raise StepFailure(f"Target specification '{spec}' not found in file specifications")
        context.batch_size = params.batch_size
        if params.pre_processor is not None and params.batch_size <= 1:
            context.batch_size = self._release_batch_size(context, params.pre_processor)
        return StepResult(data={'target_specification_name': spec, 'batch_size': context.batch_size})

    @staticmethod
    def _release_batch_size(context: ToTaskContext, release_id: int) -> int:
        """The pre-processor release's ``max_batch_size`` (1 when it sets none)."""
        try:
            release = context.client.get_plugin_release(release_id)
            if not isinstance(release, dict):
                raise StepFailure('Invalid pre-processor response')
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to validate target specification', exc) from exc
        config = release.get('config') if isinstance(release.get('config'), dict) else {}
        return max_batch_size(config) or 1

    def rollback(self, context: ToTaskContext, result: StepResult) -> None:
        context.inference = None


class FetchTasksStep(ToTaskStep):
    """Collect the ids of the tasks to annotate."""

    step_name = 'fetch_tasks'

    def can_skip(self, context: ToTaskContext) -> bool:
        return context.task_ids is not None

    def execute(self, context: ToTaskContext) -> StepResult:
        params = context.typed_params
        assert params is not None and context.action is not None
        filters = dict(params.task_filters)
        limit = filters.pop('limit', None)
        try:
            if params.retry_failed:
                ids = context.action.previous_failures(context)
            else:
                query = {**encode_filters(filters), 'project': params.project, 'fields': 'id'}
                ids = _unique_ids(_iter_tasks(context.client.list_tasks(params=query, list_all=True)))
            if limit is not None:  # checked when params are parsed; guarded here for callers that bypass that
                ids = ids[: max(int(limit), 0)]
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to fetch tasks', exc) from exc
        if not ids:
            raise StepFailure('No tasks found to annotate')
        context.task_ids = ids
        context.runtime_ctx.log_message(f'Fetched {len(ids)} tasks for annotation', 'info')  # type: ignore[union-attr]
        return StepResult(data={'count': len(ids)})

    def rollback(self, context: ToTaskContext, result: StepResult) -> None:
        context.task_ids = None


class AnnotateStep(ToTaskStep):
    """Annotate every task through a bounded concurrent pipeline."""

    step_name = 'annotate_task_data'

    def execute(self, context: ToTaskContext) -> StepResult:
        try:
            annotate_all(context)
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to process tasks', exc) from exc
        return StepResult(data={'success': context.success_count, 'failed': context.failed_count})


class FinalizeStep(ToTaskStep):
    """Report the outcome."""

    step_name = 'finalize'

    def execute(self, context: ToTaskContext) -> StepResult:
        ctx = context.runtime_ctx
        assert ctx is not None
        if context.failed_count:
            ctx.log_message(
                f'Annotation complete: {context.success_count} succeeded, {context.failed_count} failed', 'warning'
            )
        else:
            ctx.log_message(f'Annotation complete: {context.success_count} tasks annotated', 'success')
        return StepResult()


def encode_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Task filters in wire form: lists comma-joined, None as ``null``, booleans lower-case."""
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if key == 'project':
            continue  # always set by the caller
        if value is None:
            out[key] = 'null'
        elif isinstance(value, bool):
            out[key] = 'true' if value else 'false'
        elif isinstance(value, list | tuple | set):
            out[key] = ','.join(str(v) for v in value)
        else:
            out[key] = value
    return out


def _iter_tasks(reply: Any) -> Iterator[Any]:
    if isinstance(reply, tuple) and len(reply) == 2:
        items, count = reply
        if isinstance(count, int) and count <= 0:
            return iter(())
        return iter(items)
    if isinstance(reply, dict) and isinstance(reply.get('results'), list):
        return iter(reply['results'])
    if isinstance(reply, list):
        return iter(reply)
    if isinstance(reply, Iterator):
        return reply
    raise StepFailure('Unexpected task list response')


def _unique_ids(items: Iterable[Any]) -> list[int]:
    seen: set[int] = set()
    ids: list[int] = []
    for item in items:
        task_id = item.get('id') if isinstance(item, dict) else item
        if isinstance(task_id, int) and task_id not in seen:
            seen.add(task_id)
            ids.append(task_id)
    return ids
