"""The five steps: weights, order, job-level errors (with the original error on ``__cause__``), prepare's batch size."""

from __future__ import annotations

import threading

import pytest
from tests.integration.to_task.in_process.conftest import make_project, messages, run_to_task

from synapse_sdk.exceptions import NotFoundError, RequestValidationError, StepError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction, ToTaskMethod, ToTaskParams
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.executors import LocalExecutor
from synapse_sdk.plugins.steps import BaseStep, StepRegistry, StepResult
from synapse_sdk.plugins.steps.orchestrator import StepFailure


@pytest.mark.parametrize(
    ('method', 'weights'),
    [
        (ToTaskMethod.FILE, [10, 5, 10, 70, 5]),
        (ToTaskMethod.INFERENCE, [10, 20, 10, 60, 5]),
    ],
)
def test_step_names_and_weights_per_method(method, weights):
    params = ToTaskParams(
        name='j', project=1, agent=1, method=method, target_specification_name='a', pre_processor=1, model=1
    )
    action = ToTaskAction(params, None)  # setup_steps reads only the params
    registry: StepRegistry[ToTaskContext] = StepRegistry()
    action.setup_steps(registry)
    assert [(s.name, s.progress_weight) for s in registry.get_steps()] == list(
        zip(['initialize', 'prepare', 'fetch_tasks', 'annotate_task_data', 'finalize'], weights, strict=True)
    )
    assert registry.total_weight == sum(weights)


class OverallLogger(MemoryLogger):
    """Also keeps every overall-progress figure."""

    def __init__(self) -> None:
        super().__init__()
        self.overall: list[float] = []

    def _emit_overall(self, percent: float) -> None:
        self.overall.append(percent)


def test_overall_progress_follows_the_file_weights(client):
    project, _ = make_project(client, 2)
    logger = OverallLogger()
    run_to_task(client, project, logger=logger)
    assert logger.overall == [10.0, 15.0, 25.0, 95.0, 100.0]


class Checkpoint(BaseStep[ToTaskContext]):
    """A user step: records what the context holds when it runs."""

    name = 'checkpoint'
    progress_weight = 0

    def execute(self, context: ToTaskContext) -> StepResult:
        assert context.runtime_ctx is not None
        done = [r.success for r in context.step_results]
        context.runtime_ctx.log_message(
            f'checkpoint after {len(done)} steps; collection loaded: {context.data_collection is not None}; '
            f'task ids: {context.task_ids}',
            'info',
        )
        return StepResult()


class WithCheckpoint(ToTaskAction):
    def setup_steps(self, registry: StepRegistry[ToTaskContext]) -> None:
        super().setup_steps(registry)
        registry.insert_before('fetch_tasks', Checkpoint())


def test_a_step_inserted_before_fetch_tasks_runs_third(client):
    project, _ = make_project(client, 2)
    registry: StepRegistry[ToTaskContext] = StepRegistry()
    WithCheckpoint(ToTaskParams(name='j', project=1, agent=1, target_specification_name='a'), None).setup_steps(
        registry
    )
    assert [s.name for s in registry.get_steps()][2] == 'checkpoint'
    result, logger = run_to_task(client, project, action=WithCheckpoint)
    assert result.success_count == 2
    assert messages(logger)[:2] == [
        'checkpoint after 2 steps; collection loaded: True; task ids: None',
        'Fetched 2 tasks for annotation',
    ]


def test_step_error_carries_the_original_error_as_cause(client):
    with pytest.raises(StepError) as info:
        run_to_task(client, 999_999)
    assert str(info.value) == "Step 'initialize' failed: Failed to initialize: 404: Project 999999 not found"
    assert info.value.step == 'initialize'
    assert type(info.value.__cause__) is NotFoundError
    assert str(info.value.__cause__) == '404: Project 999999 not found'

    project, _ = make_project(client, 1)
    with pytest.raises(StepError) as info:
        run_to_task(client, project, task_filters={'colour': 'red'})
    assert str(info.value) == "Step 'fetch_tasks' failed: Failed to fetch tasks: 400: Unknown filter 'colour'"
    assert type(info.value.__cause__) is RequestValidationError


def test_step_error_without_an_original_error_has_the_step_failure_as_cause(client):
    bare = client.projects.create('bare')
    with pytest.raises(StepError) as info:
        run_to_task(client, bare['id'])
    assert str(info.value) == "Step 'initialize' failed: Project does not have a data collection"
    assert type(info.value.__cause__) is StepFailure
    assert str(info.value.__cause__) == 'Project does not have a data collection'
    assert info.value.__cause__.__cause__ is None


def test_limit_is_still_guarded_in_the_step_when_parsing_is_bypassed(client):
    project, _ = make_project(client, 1)
    params = ToTaskParams(name='j', project=project, agent=1, target_specification_name='annotation_data')
    params.task_filters['limit'] = 'abc'  # a caller mutating parsed params: no validation runs
    with pytest.raises(StepError) as info:
        LocalExecutor(client=client, logger_factory=MemoryLogger).execute(ToTaskAction, params)
    assert str(info.value) == (
        "Step 'fetch_tasks' failed: Failed to fetch tasks: invalid literal for int() with base 10: 'abc'"
    )
    assert type(info.value.__cause__) is ValueError


def publish_release(client, version: str, batch: dict | None) -> int:
    config = {'name': 'Pre', 'code': 'pre', 'version': version, 'category': 'pre_annotation', 'actions': {}}
    if batch is not None:
        config['actions'] = {'deployment': {'serve_options': {'batch': batch}}}
    return client.plugin_releases.publish('pre', version, config)['id']


@pytest.mark.parametrize(
    ('batch', 'batch_size', 'plan'),
    [
        ({'max_batch_size': 4}, 1, 'Batch mode: 6 task(s) split into 2 window(s) of up to 4 task(s)'),
        ({'max_batch_size': 4}, 3, 'Batch mode: 6 task(s) split into 2 window(s) of up to 3 task(s)'),
        (None, 1, 'Sequential mode: 6 task(s)'),
    ],
)
def test_file_method_takes_the_pre_processor_release_batch_size_unless_batch_size_is_set(
    client, batch, batch_size, plan
):
    project, ids = make_project(client, 6)
    release = publish_release(client, '1.0.0', batch)
    result, logger = run_to_task(client, project, pre_processor=release, batch_size=batch_size)
    assert plan in messages(logger)
    assert (result.success_count, result.failed_count) == (6, 0)  # still one PUT per task
    assert all(client.get_task(t)['data']['annotations'] for t in ids)


def test_file_method_with_an_unknown_pre_processor_stops_in_prepare(client):
    project, _ = make_project(client, 1)
    with pytest.raises(StepError) as info:
        run_to_task(client, project, pre_processor=4242)
    assert str(info.value) == (
        "Step 'prepare' failed: Failed to validate target specification: 404: Plugin release 4242 not found"
    )
    assert type(info.value.__cause__) is NotFoundError


class BrokenSink(MemoryLogger):
    """A metrics sink that fails on its third call."""

    def _emit_metrics(self, step: str, metrics: dict) -> None:
        super()._emit_metrics(step, metrics)
        if len(self.metric_updates) == 3:
            raise RuntimeError('metrics sink down')


def test_a_crash_outside_a_task_stops_the_pipeline_and_names_the_step(client):
    project, ids = make_project(client, 40)
    with pytest.raises(StepError) as info:
        run_to_task(client, project, logger=BrokenSink(), concurrency=4)
    assert str(info.value) == "Step 'annotate_task_data' failed: Failed to process tasks: metrics sink down"
    assert type(info.value.__cause__) is RuntimeError
    assert not [t.name for t in threading.enumerate() if t.name.startswith('to_task')]
    written = sum(1 for t in ids if client.get_task(t)['data'])
    assert 3 <= written < 40  # stopped early: in-flight tasks finish, no new ones start


def test_a_width_past_the_open_files_limit_is_lowered_with_a_warning(client):
    resource = pytest.importorskip('resource')
    project, _ = make_project(client, 3)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (264, hard))
    try:
        result, logger = run_to_task(client, project, concurrency=5000)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert result.success_count == 3
    assert messages(logger, 'warning') == [
        'concurrency 5000 needs more open files than the limit (264) allows: running 100 at a time '
        '(raise it with ulimit -n)'
    ]
