"""ToTask against a backend reached through a network that fails the way real ones do (``ChaosProxy``).

Every request may be answered 503/500 instead of forwarded, delayed past the client's timeout, reset,
or forwarded and then have its answer lost (hung, reset, cut short, or replaced by a 500 after the
backend committed). The figures pinned here: at a 10 % fault rate no run aborts; at 10 % and 30 % no
task is lost or misreported (every reported success is written with the right data, every reported
failure is really unwritten); a clean re-run finishes the rest and writes no task twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from tests.integration.chaos_proxy import ChaosProxy, Fault, Rule
from tests.integration.to_task.conftest import Project, build_project

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction, ToTaskResult
from synapse_sdk.plugins.executors import LocalExecutor

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]

TASKS = 120
READ_TIMEOUT = 1.0  #: seconds; the hung and delayed answers outlast it
#: every kind but a delay, on every request
MIXED = (
    Fault.STATUS_BEFORE,
    Fault.RESET_BEFORE,
    Fault.CLOSE_BEFORE,
    Fault.STATUS_AFTER,
    Fault.HANG_AFTER,
    Fault.RESET_AFTER,
    Fault.TRUNCATE_AFTER,
)
PUT_PATH = r'/tasks/\d+/annotate_task_data/'


def good(i: int) -> bytes:
    return json.dumps({'annotations': {'image_1': [{'id': f'f{i}', 'x': i}]}, 'index': i}).encode()


@pytest.fixture(scope='module')
def project(local_backend) -> Project:
    client = BackendClient(local_backend.base_url, local_backend.token)
    try:
        return build_project(client, TASKS, good, name='faults')
    finally:
        client.close()


@pytest.fixture
def chaos(local_backend) -> Iterator[ChaosProxy]:
    with ChaosProxy(local_backend.base_url, seed=11, hang_seconds=3 * READ_TIMEOUT) as proxy:
        yield proxy


def faults_at(proxy: ChaosProxy, rate: float) -> None:
    """``rate`` of all requests fail, mixing every kind (a delay past the timeout among them)."""
    proxy.add(Rule(faults=MIXED, rate=rate, status=503))
    proxy.add(Rule(faults=(Fault.STATUS_BEFORE, Fault.STATUS_AFTER), rate=rate / 4, status=500))
    # a GET delayed past the timeout still reaches the backend; a delayed PUT is dropped (see the note below)
    proxy.add(Rule(fault=Fault.DELAY_BEFORE, method='GET', rate=rate / 4, seconds=2 * READ_TIMEOUT))
    proxy.add(Rule(fault=Fault.DELAY_BEFORE, method='PUT', rate=rate / 4, seconds=2 * READ_TIMEOUT, forward=False))


@dataclass
class Run:
    result: ToTaskResult
    logger: MemoryLogger


def run_to_task(url: str, token: str, project_id: int, attempts: int = 4, **extra) -> Run:
    logger = MemoryLogger()
    client = BackendClient(
        url,
        token,
        timeout=httpx.Timeout(READ_TIMEOUT, connect=1.0),
        retry=RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05),
    )
    try:
        params = {'name': 'chaos', 'project': project_id, 'agent': 1, 'target_specification_name': 'annotation_data'}
        result = LocalExecutor(client=client, logger_factory=lambda: logger).execute(ToTaskAction, {**params, **extra})
    finally:
        client.close()
    return Run(result, logger)


def backend_data(local_backend, project: Project) -> dict[int, dict]:
    """Every task's data as the backend holds it (read directly, not through the proxy)."""
    client = BackendClient(local_backend.base_url, local_backend.token)
    try:
        rows = client.list_tasks({'project': project.id, 'fields': 'id,data'})
    finally:
        client.close()
    return {row['id']: row['data'] for row in rows}


def reset(local_backend, project: Project) -> None:
    """Every task back to empty data (each test starts from an unannotated project)."""
    client = BackendClient(local_backend.base_url, local_backend.token)
    try:
        for task_id in project.task_ids:
            client.annotate_task_data(task_id, {})
    finally:
        client.close()


def assert_honest(run: Run, project: Project, data: dict[int, dict]) -> set[int]:
    """No task lost, none misreported; returns the ids reported failed."""
    result = run.result
    assert result.total_tasks == TASKS
    assert result.success_count + result.failed_count + result.skipped_count == TASKS  # none lost
    events = run.logger.events('annotate_task_data')
    assert sorted(e.data['task_info']['task_id'] for e in events) == sorted(project.task_ids)
    failed = {f.task_id for f in result.failures}
    assert len(failed) == result.failed_count
    for task_id in project.task_ids:
        if task_id in failed:
            assert data[task_id] == {}, f'task {task_id} was reported failed but is written'
        else:
            assert data[task_id] == project.expected[task_id], f'task {task_id} was reported written but is not'
    return failed


@pytest.mark.parametrize(('rate', 'attempts'), [(0.1, 4), (0.3, 6)])
def test_under_faults_nothing_is_lost_or_misreported_and_a_clean_rerun_finishes_the_rest(
    local_backend, project, chaos, rate, attempts
):
    reset(local_backend, project)
    faults_at(chaos, rate)
    first = run_to_task(chaos.url, local_backend.token, project.id, attempts=attempts)
    fired = chaos.stats.fired_counts()
    assert sum(fired.values()) >= rate * TASKS  # the faults really happened, of every kind
    assert set(fired) == set(Fault)
    assert first.result.status == 'SUCCEEDED'  # the run did not abort
    failed = assert_honest(first, project, backend_data(local_backend, project))
    committed = chaos.stats.committed('PUT')
    for task_id in project.task_ids:  # each written task was written once, the others never
        assert committed[f'/tasks/{task_id}/annotate_task_data/'] == (0 if task_id in failed else 1)

    chaos.clear()
    chaos.reset_stats()
    second = run_to_task(chaos.url, local_backend.token, project.id)
    assert (second.result.success_count, second.result.failed_count) == (len(failed), 0)
    assert second.result.skipped_count == TASKS - len(failed)
    assert backend_data(local_backend, project) == project.expected
    rewritten = {path for path, n in chaos.stats.committed('PUT').items() if n}
    assert rewritten == {f'/tasks/{task_id}/annotate_task_data/' for task_id in failed}  # 0 duplicate writes


def test_reads_before_the_annotate_step_survive_transient_faults(local_backend, project, chaos):
    """Project, collection, instance and listing reads: each answered 500, cut short or timed out first."""
    reset(local_backend, project)
    for path in ('/projects/\\d+/', '/data_collections/\\d+/', '/instance/', '/sdk/tasks/'):
        for fault in (Fault.STATUS_BEFORE, Fault.TRUNCATE_AFTER, Fault.HANG_AFTER):
            chaos.add(Rule(fault=fault, method='GET', path=path, times=1, status=500))
    run = run_to_task(chaos.url, local_backend.token, project.id, attempts=4)
    assert (run.result.success_count, run.result.failed_count) == (TASKS, 0)
    assert chaos.stats.fired_counts().total() == 12


def test_a_write_answered_500_after_it_committed_is_reported_written_not_failed(local_backend, project, chaos):
    reset(local_backend, project)
    chaos.add(Rule(fault=Fault.STATUS_AFTER, method='PUT', path=PUT_PATH, status=500))  # every write
    run = run_to_task(chaos.url, local_backend.token, project.id, concurrency=8)
    assert (run.result.success_count, run.result.failed_count) == (TASKS, 0)
    assert backend_data(local_backend, project) == project.expected
    assert sum(chaos.stats.committed('PUT').values()) == TASKS  # read back, not written again
