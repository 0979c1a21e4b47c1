"""The five ToTask steps: initialize, prepare, fetch_tasks, annotate_task_data, finalize."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from synapse_sdk.plugins.actions._helpers import require_client
from synapse_sdk.plugins.actions.to_task import inference
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.inference import as_step_failure
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, job_key
from synapse_sdk.plugins.actions.to_task.models import ToTaskMethod, ToTaskParams, release_max_batch_size
from synapse_sdk.plugins.actions.to_task.pipeline import TaskRunner
from synapse_sdk.plugins.actions.to_task.reporting import dry_run_report, log_plan, record, skip_note
from synapse_sdk.plugins.actions.to_task.runs import close_record, open_record, sample_ids
from synapse_sdk.plugins.actions.to_task.task import FlowSettings, TaskFlow
from synapse_sdk.plugins.context import BackendClientProtocol
from synapse_sdk.plugins.steps import BaseStep, StepResult
from synapse_sdk.plugins.steps.orchestrator import StepFailure
from synapse_sdk.utils.urls import canonical_url

INSTALL_HINT = "pip install 'synapse-sdk[to-task]'"
FD_RESERVE = 64  #: open files kept free for everything else in the process

#: progress weights per method: (file, inference)
WEIGHTS = {
    'initialize': (10, 10),
    'prepare': (5, 20),
    'fetch_tasks': (10, 10),
    'annotate_task_data': (70, 60),
    'finalize': (5, 5),
}


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
        if context.client is None:  # the error of every action that needs the backend and has none
            context.client = require_client(context.hooks, 'ToTask')
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
            context.backend = backend_identity(context.client)
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
            assert context.client is not None and context.runtime_ctx is not None
            context.inference = inference.prepare(context.client, params, context.runtime_ctx)
            context.batch_size = context.inference.batch_size
            target = context.inference
            return StepResult(data={'inference': {'code': target.code, 'version': target.version}})
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
        assert context.client is not None
        try:
            release = context.client.get_plugin_release(release_id)
            if not isinstance(release, dict):
                raise StepFailure('Invalid pre-processor response')
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to validate target specification', exc) from exc
        config = release.get('config')
        return release_max_batch_size(config if isinstance(config, dict) else {}) or 1

    def rollback(self, context: ToTaskContext, result: StepResult) -> None:
        context.inference = None


class FetchTasksStep(ToTaskStep):
    """Collect the ids of the tasks to annotate."""

    step_name = 'fetch_tasks'

    def can_skip(self, context: ToTaskContext) -> bool:
        return context.task_ids is not None

    def execute(self, context: ToTaskContext) -> StepResult:
        params, client = context.typed_params, context.client
        assert params is not None and client is not None
        filters = {k: v for k, v in params.task_filters.items() if k not in ('limit', 'project')}
        limit = params.task_filters.get('limit')
        try:
            if params.retry_failed:
                ids = list(open_ledger(context).state.failed)
            else:
                query = {**filters, 'project': params.project, 'fields': 'id'}
                ids = _unique_ids(_iter_tasks(client.list_tasks(params=query, list_all=True)))
            if limit is not None:  # checked when params are parsed; guarded here for callers that bypass that
                ids = ids[: max(int(limit), 0)]
            ids = sample_ids(ids, params.sample, params.sample_seed)
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
    """Annotate every task through a bounded concurrent pipeline (:mod:`.pipeline`, one task: :mod:`.task`)."""

    step_name = 'annotate_task_data'

    def execute(self, context: ToTaskContext) -> StepResult:
        try:
            annotate_all(context)
        except StepFailure:
            raise
        except Exception as exc:
            raise as_step_failure('Failed to process tasks', exc) from exc
        return StepResult(data={'success': context.success_count, 'failed': context.failed_count})


def annotate_all(context: ToTaskContext) -> None:
    """Process every task id of ``context``; at most ``width`` tasks are in flight, memory stays flat."""
    params, ctx, ids = context.typed_params, context.runtime_ctx, context.task_ids
    assert params is not None and ctx is not None and ids is not None and context.hooks is not None
    context.total_tasks = len(ids)
    log_plan(context)
    ledger = None if params.dry_run else open_ledger(context)  # a dry run neither skips nor records as done
    if context.backend is None:
        assert context.client is not None
        context.backend = backend_identity(context.client)
    run = open_record(context)
    if run is not None:
        run.plan(ids)
    settings = FlowSettings(
        method=params.method,
        agent=params.agent,
        spec=params.target_specification_name,
        schema='any' if params.schema_name == 'any' else None,
        model=params.model,
        pre_processor_params=params.pre_processor_params,
        language=ctx.language,
        resume=params.resume,
        write_retries=params.annotate_retries,
        max_annotation_bytes=params.max_annotation_bytes,
        inline_hooks=context.inline_hooks,
        dry_run=params.dry_run,
    )
    flow = TaskFlow(settings, context.hooks, ledger, context.inference, run)
    width = _width(context, max(params.concurrency, context.batch_size))
    runner = TaskRunner(flow, context.client, width, budget=params.retry_budget_seconds)
    outcomes = runner.outcomes(params.project, ids)
    try:
        for outcome in outcomes:
            if context.http is None:
                _announce_http(context, runner)
            record(context, outcome)
    finally:
        outcomes.close()  # stops the pipeline if the loop above ended early
        if ledger is not None:
            ledger.close()
        if run is not None:
            close_record(context, run)


def _announce_http(context: ToTaskContext, runner: TaskRunner) -> None:
    context.http = runner.http
    if runner.fallback_reason and context.runtime_ctx is not None:
        context.runtime_ctx.log_message(
            f'{runner.fallback_reason}: tasks use the slower threaded HTTP path ({INSTALL_HINT})', 'warning'
        )


def _width(context: ToTaskContext, width: int) -> int:
    """``width``, or less when each task's two sockets would pass the open-files limit (``ulimit -n``)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return width
    if soft == resource.RLIM_INFINITY or width <= (soft - FD_RESERVE) // 2:
        return width
    allowed = max(1, (soft - FD_RESERVE) // 2)
    assert context.runtime_ctx is not None
    context.runtime_ctx.log_message(
        f'concurrency {width} needs more open files than the limit ({soft}) allows: running {allowed} at a time '
        '(raise it with ulimit -n)',
        'warning',
    )
    return allowed


class FinalizeStep(ToTaskStep):
    """Report the outcome."""

    step_name = 'finalize'

    def execute(self, context: ToTaskContext) -> StepResult:
        ctx = context.runtime_ctx
        assert ctx is not None
        params = context.typed_params
        if context.run_id is not None and params is not None and not params.dry_run:
            ctx.log_message(
                f'Run {context.run_id} recorded: undo it with `synapse to-task undo {context.run_id}`', 'info'
            )
        dry = params is not None and params.dry_run
        if context.failed_count:
            done = 'proposed' if dry else 'succeeded'
            ctx.log_message(
                f'{"Dry run" if dry else "Annotation"} complete: {context.success_count} {done}, '
                f'{context.failed_count} failed',
                'warning',
            )
        elif not dry:  # a dry run's own summary line follows
            ctx.log_message(f'Annotation complete: {context.success_count} tasks annotated', 'success')
        note = skip_note(context)
        if note:
            ctx.log_message(note, 'info')
        for line, level in dry_run_report(context):
            ctx.log_message(line, level)
        return StepResult()


def backend_identity(client: BackendClientProtocol) -> str:
    """What names the backend in the resume ledger's job key: its own identity when the client can read it."""
    reader = getattr(client, 'backend_identity', None)
    if callable(reader):
        return str(reader())
    return f'url:{canonical_url(str(getattr(client, "base_url", "")))}'


def ledger_key(params: ToTaskParams, backend: str, plugin: Any) -> str:
    """The resume ledger's key of a job: which backend, what it annotates, how, and with which plugin code."""
    source: Any = params.target_specification_name
    if params.method is ToTaskMethod.INFERENCE:
        source = [params.pre_processor, params.model]
    return job_key(
        backend,
        params.project,
        params.task_filters,
        params.method.value,
        source,
        params.pre_processor_params,
        params.schema_name,
        plugin,
    )


def open_ledger(context: ToTaskContext) -> Ledger:
    """The resume ledger of this job (opened once per run)."""
    if context.ledger is None:
        assert context.typed_params is not None
        if context.backend is None:
            assert context.client is not None
            context.backend = backend_identity(context.client)
        context.ledger = Ledger.for_key(ledger_key(context.typed_params, context.backend, context.plugin))
    return context.ledger


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
