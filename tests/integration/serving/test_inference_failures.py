"""Deploy waits that always end, with the reason: each failure of a served pre-processor ends fast and says why."""

from __future__ import annotations

import time

import pytest
from tests.integration.serving.conftest import PLUGINS, project_with_images, publish, upload_model
from tests.integration.serving.test_inference_end_to_end import run_inference
from tests.integration.to_task.conftest import build_project

from synapse_sdk.exceptions import PreProcessorError

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(300)]


def release_of(client, code: str, tmp_path, spec: dict, **changes):
    release = publish(client, PLUGINS / 'echo_pre', code=code, name=code, **changes)
    model = upload_model(client, release['id'], spec, tmp_path)
    return release, model


def test_a_replica_no_node_can_hold_fails_before_deploying_with_rays_reason(serving_backend, tmp_path):
    client = serving_backend.client()
    gpu = {'actions': {'inference': {'required_resources': {'required_cpu_count': 1, 'required_gpu_count': 1}}}}
    release, model = release_of(client, 'echo-gpu', tmp_path, {'label': 'x'}, **gpu)
    project = build_project(client, 1, lambda i: None, name='serve-gpu')
    started = time.monotonic()
    with pytest.raises(PreProcessorError) as info:
        run_inference(serving_backend, project.id, release['id'], model)
    assert time.monotonic() - started < 60
    assert str(info.value) == (
        'Pre-processor deployment failed: serve application reached terminal state (DEPLOY_FAILED); '
        'last-known reason: Resources required for each replica: {"CPU": 1.0, "GPU": 1.0}, total resources '
        'available: {"CPU": 2.0, "memory": ' + str(info.value).split('"memory": ')[1]
    )
    assert info.value.status == 'DEPLOY_FAILED'
    client.close()


def test_a_model_that_fails_to_load_ends_as_deploy_failed_with_its_error(serving_backend, tmp_path):
    client = serving_backend.client()
    release, model = release_of(client, 'echo-broken', tmp_path, {'label': 'x', 'broken': True})
    project = build_project(client, 1, lambda i: None, name='serve-broken')
    started = time.monotonic()
    with pytest.raises(PreProcessorError) as info:
        run_inference(serving_backend, project.id, release['id'], model)
    text = str(info.value)
    assert text.startswith(
        'Pre-processor deployment failed: serve application reached terminal state (DEPLOY_FAILED); last-known reason: '
    )
    assert 'model.json is marked broken' in text
    assert time.monotonic() - started < 120
    client.close()


def test_an_app_that_never_becomes_ready_times_out_at_the_deadline(serving_backend, tmp_path):
    client = serving_backend.client()
    release, model = release_of(client, 'echo-slow', tmp_path, {'label': 'x', 'sleep': 120})
    project = build_project(client, 1, lambda i: None, name='serve-slow')
    started = time.monotonic()
    with pytest.raises(PreProcessorError) as info:
        run_inference(serving_backend, project.id, release['id'], model, pre_processor_timeout_seconds=8)
    waited = time.monotonic() - started
    assert str(info.value).startswith('Pre-processor did not become ready within timeout')
    assert 8 <= waited < 14
    client.close()


def test_an_unknown_agent_is_the_dispatch_error(serving_backend, tmp_path):
    client = serving_backend.client()
    release, model = release_of(client, 'echo-nowhere', tmp_path, {'label': 'x'})
    project = build_project(client, 1, lambda i: None, name='serve-nowhere')
    with pytest.raises(PreProcessorError) as info:
        run_inference(serving_backend, project.id, release['id'], model, agent=99)
    assert str(info.value) == 'Pre-processor deployment dispatch failed (NotFoundError)'
    assert str(info.value.__cause__) == '404: Agent 99 not found'
    client.close()


def test_an_inference_that_raises_fails_only_its_task_with_the_apps_message(serving_backend, tmp_path):
    client = serving_backend.client()
    release, model = release_of(client, 'echo-raise', tmp_path, {'label': 'x'})
    project, ids = project_with_images(client, ['ok0.jpg', 'fail1.jpg', 'empty2.jpg'], 'serve-raise')
    result, _ = run_inference(serving_backend, project, release['id'], model)
    assert result.success_count == 1
    failures = {f.task_id: f.error for f in result.failures}
    assert set(failures) == {ids[1], ids[2]}
    assert failures[ids[1]].startswith("500: Pre-processor 'echo-raise' failed: ")
    assert 'cannot read fail1.jpg' in failures[ids[1]]
    assert failures[ids[2]] == (
        'Inference failed: pre-processor returned an empty or failed response — task update skipped'
    )
    assert client.get_task(ids[1])['data'] == {} and client.get_task(ids[2])['data'] == {}  # nothing written
    client.close()


def test_feasibility_answers_from_the_clusters_own_totals(serving_backend):
    from synapse_sdk.clients import AgentClient

    serving_backend.agent.ensure_ray()
    token = (serving_backend.state_dir / 'agent_token').read_text().strip()
    with AgentClient(f'{serving_backend.base_url}agent/', token) as agent:
        assert agent.check_feasibility(num_cpus=1, num_gpus=0) == {'allowed': True, 'reasons': []}
        refused = agent.check_feasibility(num_cpus=1, num_gpus=1)
    assert refused == {
        'allowed': False,
        'reasons': ['needs 1 GPU (1 GPU per replica x 1 replicas); this agent has 0 GPUs'],
    }
