"""ToTask, file method, end to end over real HTTP against the local backend (through a fault proxy)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from tests.integration.fault_proxy import Fault
from tests.integration.to_task.conftest import build_project, make_client

from synapse_sdk.exceptions import StepError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.executors import LocalExecutor

pytestmark = pytest.mark.integration


def good(i: int) -> bytes:
    return json.dumps({'annotations': {'image_1': [{'id': f'a{i}', 'label': 'car'}]}, 'index': i}).encode()


def run_to_task(base_url, token, project_id, **extra):
    logger = MemoryLogger()
    params = {'name': 'prelabel', 'project': project_id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    executor = LocalExecutor(client=make_client(base_url, token), logger_factory=lambda: logger)
    return executor.execute(ToTaskAction, {**params, **extra}), logger


def task_data(local_backend, task_id):
    return make_client(local_backend.base_url, local_backend.token).get_task(task_id)['data']


def test_happy_path_writes_every_task_and_reports_progress(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 6, good, name='happy')
    result, logger = run_to_task(url, local_backend.token, project.id, concurrency=3)
    assert result.model_dump(exclude={'dry_run', 'run_id', 'summary'}) == {  # the run record: its own tests
        'status': 'SUCCEEDED',
        'message': 'to_task completed. success=6, failed=0',
        'total_tasks': 6,
        'success_count': 6,
        'failed_count': 0,
        'skipped_count': 0,
        'failures': [],
    }
    for task_id, expected in project.expected.items():
        assert task_data(local_backend, task_id) == expected
    assert logger.get_progress('annotate_task_data').current == 6
    assert logger.get_metrics('annotate_task_data') == {'total': 6, 'success': 6, 'failed': 0, 'stand_by': 0}
    events = logger.events('annotate_task_data')
    assert sorted(e.data['task_info']['task_id'] for e in events) == sorted(project.task_ids)
    assert [e.data['index'] for e in events] == [1, 2, 3, 4, 5, 6]
    messages = [e.data['content'] for e in logger.events('message')]
    assert messages[0] == 'Fetched 6 tasks for annotation'
    assert messages[-1] == 'Annotation complete: 6 tasks annotated'
    assert logger.overall_percent == 100.0
    # task details are read in chunks, not one GET per task; one PUT per task
    assert fault_proxy.requests[('GET', '/sdk/tasks/')] == 2
    assert not [p for (m, p) in fault_proxy.requests if m == 'GET' and re.fullmatch(r'/tasks/\d+/', p)]
    assert sum(fault_proxy.ok_puts.values()) == 6


def test_broken_and_missing_files_are_recorded_and_never_stop_the_job(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)

    def annotation(i: int) -> bytes | None:
        return {1: b'{"truncated": ', 2: None, 3: b'[1, 2, 3]'}.get(i, good(i))

    project = build_project(client, 5, annotation, name='broken')
    ids = project.task_ids
    result, logger = run_to_task(local_backend.base_url, local_backend.token, project.id)
    assert result.status == 'SUCCEEDED'
    assert (result.success_count, result.failed_count) == (2, 3)
    truncated = 'Invalid JSON format in annotation file (img1.json: line 1, column 15)'
    not_an_object = 'Invalid JSON format in annotation file (img3.json: expected an object, got an array)'
    assert sorted((f.task_id, f.error) for f in result.failures) == [
        (ids[1], truncated),
        (ids[2], 'Target specification file not found for task'),
        (ids[3], not_an_object),
    ]
    assert task_data(local_backend, ids[1]) == {}  # nothing half-written
    errors = {e.data['content'] for e in logger.events('message') if e.data['context'] == 'error'}
    assert errors == {
        f'[Task {ids[1]}] Failed: {truncated}',
        f'[Task {ids[2]}] Failed: Target specification file not found for task',
        f'[Task {ids[3]}] Failed: {not_an_object}',
    }
    assert [e.data['content'] for e in logger.events('message')][-1] == 'Annotation complete: 2 succeeded, 3 failed'


def test_unreachable_file_url_and_server_errors_on_puts(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 4, good, name='faults')
    ids = project.task_ids
    annotation_url = client.get_task(ids[0], params={'expand': 'data_unit'})['data_unit']['files']['annotation_data'][
        'url'
    ]
    file_path = urlsplit(annotation_url).path  # without the presigned query
    fault_proxy.faults = [
        Fault('GET', file_path, 502),  # the file's host is unreachable (gateway error, every retry)
        # read back (not written), repeated (annotate_retries), then recorded
        Fault('PUT', f'/tasks/{ids[1]}/annotate_task_data/', 500),
        Fault('PUT', f'/tasks/{ids[2]}/annotate_task_data/', 503, times=1),  # read back, repeated, then succeeds
    ]
    result, _ = run_to_task(url, local_backend.token, project.id)
    assert sorted((f.task_id, f.error) for f in result.failures) == [
        (ids[0], 'Failed to download JSON from URL (status 502)'),
        (ids[1], '500: injected fault'),
    ]
    assert result.success_count == 2
    assert fault_proxy.requests[('PUT', f'/tasks/{ids[1]}/annotate_task_data/')] == 3
    assert fault_proxy.requests[('PUT', f'/tasks/{ids[2]}/annotate_task_data/')] == 2
    assert fault_proxy.requests[('GET', file_path)] == 3  # the client's retry budget
    assert task_data(local_backend, ids[2]) == project.expected[ids[2]]


def test_rerun_skips_what_was_done_and_retry_failed_redoes_only_failures(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 5, good, name='resume')
    ids = project.task_ids
    fault_proxy.faults = [Fault('PUT', f'/tasks/{ids[3]}/annotate_task_data/', 500)]
    first, _ = run_to_task(url, local_backend.token, project.id)
    assert (first.success_count, first.failed_count) == (4, 1)

    second, _ = run_to_task(url, local_backend.token, project.id, name='another-name', concurrency=2)
    assert (second.success_count, second.failed_count, second.skipped_count) == (0, 1, 4)
    assert second.message == 'to_task completed. success=0, failed=1, skipped=4'

    fault_proxy.faults = []
    before = dict(fault_proxy.ok_puts)
    third, _ = run_to_task(url, local_backend.token, project.id, retry_failed=True)
    assert (third.total_tasks, third.success_count) == (1, 1)
    changed = {path: n - before.get(path, 0) for path, n in fault_proxy.ok_puts.items() if n != before.get(path, 0)}
    assert changed == {f'/tasks/{ids[3]}/annotate_task_data/': 1}
    for task_id in ids:
        assert task_data(local_backend, task_id) == project.expected[task_id]
    assert sum(fault_proxy.ok_puts.values()) == 5  # every task written exactly once across three runs


def test_resume_false_rewrites(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, good, name='noresume')
    run_to_task(local_backend.base_url, local_backend.token, project.id)
    again, _ = run_to_task(local_backend.base_url, local_backend.token, project.id, resume=False)
    assert (again.success_count, again.skipped_count) == (2, 0)


def test_every_task_failing_makes_the_job_failed(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, lambda i: b'not json', name='allbad')
    result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id)
    assert result.status == 'FAILED'
    assert result.message == 'to_task failed. success=0, failed=2'


@pytest.mark.parametrize(
    ('make_params', 'message'),
    [
        (
            lambda p: {'project': 999_999},
            "Step 'initialize' failed: Failed to initialize: 404: Project 999999 not found",
        ),
        (
            lambda p: {'target_specification_name': 'nope'},
            "Step 'prepare' failed: Target specification 'nope' not found in file specifications",
        ),
        (lambda p: {'task_filters': {'status': 'done'}}, "Step 'fetch_tasks' failed: No tasks found to annotate"),
        (
            lambda p: {'task_filters': {'colour': 'red'}},
            "Step 'fetch_tasks' failed: Failed to fetch tasks: 400: Unknown filter 'colour'",
        ),
    ],
)
def test_critical_errors_stop_before_any_write(local_backend, proxy, make_params, message):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, good, name='critical')
    with pytest.raises(StepError) as info:
        run_to_task(url, local_backend.token, project.id, **make_params(project))
    assert str(info.value) == message
    assert not [key for key in fault_proxy.requests if key[0] == 'PUT']
    assert local_backend.token not in str(info.value)


def test_filters_select_tasks_and_limit_truncates(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 4, good, name='filters')
    result, _ = run_to_task(
        local_backend.base_url,
        local_backend.token,
        project.id,
        task_filters={'status__in': ['pending', 'in_progress'], 'assignee': None, 'limit': 3},
    )
    assert result.total_tasks == 3


def test_project_without_data_collection_stops_in_initialize(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    bare = client.projects.create('no-collection-project')
    with pytest.raises(StepError, match=r"^Step 'initialize' failed: Project does not have a data collection$"):
        run_to_task(local_backend.base_url, local_backend.token, bare['id'])
