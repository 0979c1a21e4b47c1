"""Runs that belong to a backend job report progress, metrics, events and the result to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ray_harness import SAMPLE

from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayJobExecutor

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def backend(local_backend, monkeypatch) -> Iterator[BackendClient]:
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        yield client


def _new_job(local_backend, action: str) -> int:
    reply = httpx.post(
        f'{local_backend.base_url}jobs/',
        json={'action': action},
        headers={'Synapse-Access-Token': f'Token {local_backend.token}'},
    )
    reply.raise_for_status()
    return int(reply.json()['id'])


def _assert_reported(backend: BackendClient, job_id: int, text: str) -> None:
    job = backend.get_job(job_id)
    assert job['status'] == 'SUCCEEDED'
    assert job['result'] == {'text': text * 2, 'greeting': 'hello', 'pid': job['result']['pid']}
    assert job['progress_record']['record']['steps']['echo']['percent'] == 100.0
    assert job['progress_record']['current_progress']['overall'] == 100.0
    assert job['metrics_record'] == {'record': {'steps': {'echo': {'chars': len(text)}}}}
    entries = backend.logs.list({'job': job_id})
    messages = [e['data'] for e in entries if e['event'] == 'message']
    assert messages == [{'context': 'info', 'content': f'echoing {text}'}]


def test_job_mode_reports_to_the_backend_job_and_result_is_read_back(ray_cluster, local_backend, backend):
    job_id = _new_job(local_backend, 'echo')
    executor = RayJobExecutor(ray_cluster.dashboard_url, SAMPLE, job_id=job_id, client=backend)
    ray_job = executor.submit('echo', {'text': 'ok', 'repeat': 2})
    result = executor.wait(ray_job, timeout_seconds=60)
    _assert_reported(backend, job_id, 'ok')
    assert result == backend.get_job(job_id)['result']
    assert executor.get_info(ray_job)['metadata'] == {'synapse_action': 'echo', 'synapse_job_id': str(job_id)}


def test_task_mode_reports_to_the_backend_job(ray_cluster, local_backend, backend):
    job_id = _new_job(local_backend, 'echo')
    with RayActorExecutor(ray_cluster.gcs_address, SAMPLE, job_id=job_id) as executor:
        executor.execute('echo', {'text': 'hey', 'repeat': 2})
    _assert_reported(backend, job_id, 'hey')
