"""Pipelines on Ray: seed 002's Download → Convert → Train (the docs' example) in one actor per run.

Runs and checkpoints are kept in the real local backend over HTTP; a failure injected in the middle
action is resumed from the checkpoint without running the first action again.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.exceptions import ExecutionError
from synapse_sdk.plugins.executors.ray import RayPipelineExecutor
from synapse_sdk.plugins.pipelines import ActionPipeline, PipelineStatus

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[3] / 'docs' / 'pipelines.md'


@pytest.fixture(scope='module')
def guide() -> dict[str, Any]:
    """The docs' action definitions (the first python block), as a user's script defines them."""
    block = re.search(r'^```python\n(.*?)^```', DOC.read_text(encoding='utf-8'), re.DOTALL | re.MULTILINE)
    assert block is not None
    namespace: dict[str, Any] = {'__name__': 'pipeline_guide'}
    exec(compile(block.group(1), f'{DOC.name}:actions', 'exec'), namespace)  # the documented code is the point
    return namespace


@pytest.fixture(scope='module')
def client(local_backend) -> Iterator[BackendClient]:
    with BackendClient(local_backend.base_url, local_backend.token) as c:
        yield c


@pytest.fixture(scope='module')
def executor(ray_cluster, client) -> RayPipelineExecutor:
    return RayPipelineExecutor(ray_address=ray_cluster.gcs_address, client=client)


def _pipeline(guide: dict[str, Any]) -> ActionPipeline:
    return ActionPipeline([guide['DownloadAction'], guide['ConvertAction'], guide['TrainAction']])


def test_the_guide_pipeline_runs_in_one_actor_with_live_progress(guide, executor, client, tmp_path: Path):
    from rich.console import Console

    from synapse_sdk.plugins.pipelines.display import display_progress

    pipeline = _pipeline(guide)
    params = {'dataset_id': 7, 'work_dir': str(tmp_path), 'epochs': 4, 'epoch_seconds': 0.25}
    run_id = pipeline.submit(params, executor, name='ray-guide')
    seen: list[Any] = []

    def recorded() -> Iterator[Any]:
        for snapshot in executor.stream_progress(run_id):
            seen.append(snapshot)
            yield snapshot

    out = io.StringIO()
    final = display_progress(recorded(), console=Console(file=out, width=120, force_terminal=False))
    assert final.status == PipelineStatus.COMPLETED, final.error
    result = pipeline.wait(run_id)
    assert type(result).__name__ == 'TrainResult' and result.accuracy == 0.5
    assert Path(result.model_path).is_file()
    # live: the train action was seen part-way (its per-epoch progress), before the run completed
    partial = [s for s in seen if s.current_name == 'train' and 0 < s.actions[2].progress < 100]
    assert partial and all(s.status == PipelineStatus.RUNNING for s in partial)
    assert 'ray-guide' in out.getvalue() and 'completed' in out.getvalue()
    assert Path(tmp_path, 'actions.log').read_text().split() == ['download', 'convert', 'train']
    run = client.get_pipeline_run(run_id)
    assert (run['status'], run['result']['accuracy']) == ('completed', 0.5)
    assert [c['action_name'] for c in client.list_pipeline_checkpoints(run_id)] == ['download', 'convert', 'train']


def test_a_failure_in_convert_is_resumed_without_downloading_again(guide, executor, client, tmp_path: Path):
    import ray

    pipeline = _pipeline(guide)
    first = pipeline.submit({'dataset_id': 8, 'work_dir': str(tmp_path), 'corrupt': 2}, executor)
    with pytest.raises(ExecutionError, match=r"^Action 'convert' failed: 0000\.json: box outside the image"):
        pipeline.wait(first)
    assert client.get_pipeline_run(first)['status'] == 'failed'
    assert [c['action_name'] for c in client.list_pipeline_checkpoints(first)] == ['download']

    assert ray.is_initialized()  # this process's connection is reused by the next submit
    second = executor.submit(pipeline, {'max_invalid': 2}, resume_from=first)
    result = executor.get_result(second, timeout=120)
    assert result.accuracy == 0.5
    assert Path(tmp_path, 'actions.log').read_text().split() == ['download', 'convert', 'train']  # downloaded once
    assert [a.restored for a in executor.get_progress(second).actions] == [True, False, False]
    assert client.get_pipeline_run(second)['resumed_from'] == int(first)


def test_cancel_stops_the_run_and_its_actor(guide, executor, client, tmp_path: Path):
    pipeline = _pipeline(guide)
    run_id = pipeline.submit({'dataset_id': 9, 'work_dir': str(tmp_path), 'epochs': 50, 'epoch_seconds': 0.2}, executor)
    for snapshot in executor.stream_progress(run_id):
        if snapshot.current_name == 'train':
            break
    assert executor.cancel(run_id) is True
    assert executor.wait(run_id, timeout=30).status == PipelineStatus.CANCELLED
    with pytest.raises(ExecutionError, match=rf'^Pipeline run {run_id} was cancelled$'):
        executor.get_result(run_id)
    assert client.get_pipeline_run(run_id)['status'] == 'cancelled'
    assert executor.cancel(run_id) is False
