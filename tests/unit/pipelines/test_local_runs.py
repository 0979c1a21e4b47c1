"""LocalPipelineExecutor against the local backend: records, checkpoints, resume, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pipeline_actions import First, Second, Third, ran

from synapse_sdk.exceptions import ClientError, ExecutionError, ValidationError
from synapse_sdk.plugins.pipelines import ActionPipeline, LocalPipelineExecutor, PipelineStatus

PIPELINE = [First, Second, Third]


def test_a_run_is_recorded_with_one_checkpoint_per_action(client, tmp_path: Path):
    executor = LocalPipelineExecutor(client=client)
    pipeline = ActionPipeline(PIPELINE)
    run_id = pipeline.submit({'work_dir': str(tmp_path), 'n': 2}, executor, name='unit')
    assert pipeline.wait(run_id).answer == 50
    assert executor.get_status(run_id) == PipelineStatus.COMPLETED
    run = client.get_pipeline_run(run_id)
    assert (run['name'], run['status'], run['actions'], run['result']) == (
        'unit',
        'completed',
        ['first', 'second', 'third'],
        {'answer': 50},
    )
    assert run['progress']['overall'] == 100.0
    checkpoints = client.list_pipeline_checkpoints(run_id)
    assert [(c['action_index'], c['action_name']) for c in checkpoints] == [(0, 'first'), (1, 'second'), (2, 'third')]
    assert checkpoints[1]['params'] == {'work_dir': str(tmp_path), 'n': 2, 'doubled': 4, 'total': 5}
    assert checkpoints[1]['result'] == {'work_dir': str(tmp_path), 'total': 5}


def test_a_failed_run_resumes_after_its_last_finished_action_without_rerunning_it(client, tmp_path: Path):
    executor = LocalPipelineExecutor(client=client)
    first = executor.submit(PIPELINE, {'work_dir': str(tmp_path), 'n': 3, 'fail': True})
    with pytest.raises(ExecutionError, match=r"^Action 'second' failed: second broke$"):
        executor.get_result(first)
    failed = executor.get_progress(first)
    assert [a.status for a in failed.actions] == ['completed', 'failed', 'pending']
    assert failed.actions[1].error == "Action 'second' failed: second broke"
    assert client.get_pipeline_run(first)['error'] == "Action 'second' failed: second broke"
    assert ran(str(tmp_path)) == ['first', 'second']

    second = executor.submit(PIPELINE, {'fail': False}, resume_from=first)
    assert executor.get_result(second).answer == 70
    assert ran(str(tmp_path)) == ['first', 'second', 'second', 'third']  # 'first' ran once
    resumed = executor.get_progress(second)
    assert [a.restored for a in resumed.actions] == [True, False, False]
    assert resumed.resumed_from == first
    record = client.get_pipeline_run(second)
    assert record['resumed_from'] == int(first)
    # the resumed run holds every checkpoint it stands on, so it can be resumed in turn
    assert [c['action_name'] for c in client.list_pipeline_checkpoints(second)] == ['first', 'second', 'third']


def test_progress_stream_ends_with_the_final_snapshot(client, tmp_path: Path):
    executor = LocalPipelineExecutor(client=client)
    run_id = executor.submit(PIPELINE, {'work_dir': str(tmp_path), 'n': 1, 'sleep': 0.3})
    snapshots = list(executor.stream_progress(run_id))
    assert snapshots[-1].status == PipelineStatus.COMPLETED
    assert any(s.status == PipelineStatus.RUNNING and s.current_name == 'second' for s in snapshots)
    overall = [s.overall for s in snapshots]
    assert overall == sorted(overall) and overall[-1] == 100.0


def test_resume_needs_a_backend_and_a_known_run(client, tmp_path: Path):
    with pytest.raises(ValidationError, match=r'^resume_from needs the backend that keeps the checkpoints'):
        LocalPipelineExecutor().submit(PIPELINE, {}, resume_from=1)
    with pytest.raises(ValidationError, match=r'^resume_from: pipeline run 999 cannot be read from the backend'):
        LocalPipelineExecutor(client=client).submit(PIPELINE, {}, resume_from=999)
    with pytest.raises(ValidationError, match=r"^Unknown pipeline run 'nope'"):
        LocalPipelineExecutor(client=client).get_progress('nope')


def test_without_a_backend_runs_are_tracked_in_memory(tmp_path: Path):
    executor = LocalPipelineExecutor()
    run_id = executor.submit(PIPELINE, {'work_dir': str(tmp_path), 'n': 0})
    assert executor.wait(run_id).result == {'answer': 10}
    assert len(run_id) == 32


def test_the_backend_refuses_checkpoints_that_do_not_match_the_run(client):
    run = client.create_pipeline_run({'actions': ['a', 'b']})
    with pytest.raises(ClientError, match=r"action_name: action 1 of run \d+ is 'b', not 'x'"):
        client.create_pipeline_checkpoint(run['id'], {'action_index': 1, 'action_name': 'x', 'params': {}})
    with pytest.raises(ClientError, match=r"action_index: 2 is past the run's 2 actions"):
        client.create_pipeline_checkpoint(run['id'], {'action_index': 2, 'action_name': 'b'})
    with pytest.raises(ClientError, match=r'resumed_from: pipeline run 777 not found'):
        client.create_pipeline_run({'actions': ['a'], 'resumed_from': 777})
    with pytest.raises(ValueError, match=r"^Unknown pipeline run field 'name'"):
        client.update_pipeline_run(run['id'], {'name': 'x'})
    client.create_pipeline_checkpoint(run['id'], {'action_index': 0, 'action_name': 'a', 'params': {'v': 1}})
    client.create_pipeline_checkpoint(run['id'], {'action_index': 0, 'action_name': 'a', 'params': {'v': 2}})
    assert [c['params'] for c in client.list_pipeline_checkpoints(run['id'])] == [{'v': 2}]
    assert [r['id'] for r in client.list_pipeline_runs({'status': 'pending'})] == [run['id']]


def test_execute_from_a_start_index_calls_the_checkpoint_hook(tmp_path: Path):
    from synapse_sdk.loggers import ConsoleLogger
    from synapse_sdk.plugins.context import RuntimeContext

    done: list[tuple[int, str]] = []
    pipeline = ActionPipeline(PIPELINE)
    ctx = RuntimeContext(logger=ConsoleLogger())
    result = pipeline.execute(
        {'work_dir': str(tmp_path), 'total': 4}, ctx, start=2, on_action_done=lambda i, n, p, r: done.append((i, n))
    )
    assert result.answer == 40 and done == [(2, 'third')] and ran(str(tmp_path)) == ['third']
    with pytest.raises(ValueError, match=r'^start must be between 0 and 3'):
        pipeline.execute({}, ctx, start=4)


def test_async_progress_stream_and_display(client, tmp_path: Path):
    import asyncio
    import io

    from rich.console import Console

    from synapse_sdk.plugins.pipelines.display import display_progress_async

    executor = LocalPipelineExecutor(client=client)
    run_id = executor.submit(PIPELINE, {'work_dir': str(tmp_path), 'n': 1, 'sleep': 0.2}, name='async')
    out = io.StringIO()
    final = asyncio.run(
        display_progress_async(executor.stream_progress_async(run_id), console=Console(file=out, width=100))
    )
    assert final.status == PipelineStatus.COMPLETED and final.result == {'answer': 30}
    text = out.getvalue()
    assert f'Pipeline run {run_id} (async)' in text and 'second' in text and 'completed' in text


def test_cancel_marks_the_run_and_drops_later_checkpoints(client, tmp_path: Path):
    executor = LocalPipelineExecutor(client=client)
    run_id = executor.submit(PIPELINE, {'work_dir': str(tmp_path), 'n': 1, 'sleep': 0.5})
    for snapshot in executor.stream_progress(run_id):
        if snapshot.current_name == 'second':
            break
    assert executor.cancel(run_id) is True
    assert executor.wait(run_id).status == PipelineStatus.CANCELLED
    with pytest.raises(ExecutionError, match=rf'^Pipeline run {run_id} was cancelled$'):
        executor.get_result(run_id)
    assert client.get_pipeline_run(run_id)['status'] == 'cancelled'
    assert [c['action_name'] for c in client.list_pipeline_checkpoints(run_id)] == ['first']
    time.sleep(0.8)  # 'second' finishes on its thread; 'third' never starts
    assert ran(str(tmp_path)) == ['first', 'second']
