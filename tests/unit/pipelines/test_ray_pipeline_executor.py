"""RayPipelineExecutor without a cluster: construction, the backend by URL, Ray missing (unit: no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_actions import First, Second, Third

from synapse_sdk.exceptions import ExecutorError, MissingDependencyError
from synapse_sdk.plugins.executors.ray import RayPipelineExecutor
from synapse_sdk.plugins.pipelines import PipelineStatus


def test_pipeline_service_url_gives_the_backend_client(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'tok-0123456789abcdef')
    executor = RayPipelineExecutor(ray_address='auto', pipeline_service_url='http://127.0.0.1:8100')
    assert executor.client.base_url.startswith('http://127.0.0.1:8100')
    executor.client.close()


def test_a_working_dir_that_is_no_folder_is_refused(tmp_path: Path):
    with pytest.raises(ExecutorError, match=r'^working_dir: .*missing is not a folder; pass the plugin folder$'):
        RayPipelineExecutor(working_dir=tmp_path / 'missing')


def test_without_ray_submit_names_the_extra_and_the_run_is_recorded_failed(client, tmp_path: Path):
    executor = RayPipelineExecutor(client=client)
    with pytest.raises(MissingDependencyError, match=r"pip install 'synapse-sdk\[ray\]'"):
        executor.submit([First, Second, Third], {'work_dir': str(tmp_path), 'n': 1})
    [run] = client.list_pipeline_runs()
    assert run['status'] == 'failed' and 'synapse-sdk[ray]' in run['error']
    assert executor.get_status(str(run['id'])) == PipelineStatus.FAILED
