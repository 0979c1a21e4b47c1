"""ToTask's inference method on a real Ray Serve app, deployed by the local agent on first need."""

from __future__ import annotations

import json
import time

import pytest
from tests.integration.serving.conftest import PLUGINS, publish, upload_model
from tests.integration.to_task.conftest import build_project

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.executors import LocalExecutor

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(300)]


def run_inference(serving_backend, project_id, release_id, model_id, **extra):
    logger = MemoryLogger()
    client = serving_backend.client()
    params = {
        'name': 'infer',
        'project': project_id,
        'agent': 1,
        'method': 'inference',
        'pre_processor': release_id,
        'model': model_id,
        'pre_processor_poll_seconds': 0.5,
        'pre_processor_timeout_seconds': 120,
        **extra,
    }
    try:
        result = LocalExecutor(client=client, logger_factory=lambda: logger).execute(ToTaskAction, params)
    finally:
        client.close()
    return result, logger


def test_every_task_is_annotated_by_the_served_model_and_a_running_app_is_reused(serving_backend, tmp_path):
    client = serving_backend.client()
    release = publish(client, PLUGINS / 'echo_pre')
    model = upload_model(client, release['id'], {'label': 'face'}, tmp_path)
    project = build_project(client, 4, lambda i: None, name='serve-happy')
    started = time.monotonic()
    first, logger = run_inference(serving_backend, project.id, release['id'], model)
    assert (first.success_count, first.failed_count) == (4, 0), first.failures
    data = client.get_task(project.task_ids[2])['data']
    assert data['annotations']['image_1'][0]['classification'] == {'class': 'face'}
    assert data['annotations']['image_1'][0]['file'] == 'img2.jpg'
    states = [e.data['content'] for e in logger.events('message') if e.data['content'].startswith('Pre-processor echo')]
    assert states[-1].startswith('Pre-processor echo-pre: RUNNING'), states
    apps = client.list_serve_applications(params={'plugin_code': 'echo-pre'})
    assert [a['status'] for a in apps] == ['RUNNING']
    deployed_in = time.monotonic() - started

    again, logger = run_inference(serving_backend, project.id, release['id'], model, resume=False)
    assert again.success_count == 4
    assert 'Pre-processor already running' in [e.data['content'] for e in logger.events('message')]
    jobs = [j for j in client.jobs.list() if j['action'] == 'deployment' and j['plugin_release'] == release['id']]
    assert len(jobs) == 1  # no second deployment
    print(f'deploy + 4 tasks: {deployed_in:.1f}s')
    client.close()


def test_the_token_appears_in_no_ray_file_job_metadata_or_message(serving_backend, tmp_path):
    """After deployments and inference (the tests above): grep everything Ray wrote and every job it holds."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / 'ray'))
    from ray_harness import files_containing

    from synapse_sdk.plugins.executors.ray._ray import job_submission_client

    client = serving_backend.client()
    release = publish(client, PLUGINS / 'echo_pre', code='echo-secret', name='echo-secret')
    model = upload_model(client, release['id'], {'label': 'x'}, tmp_path)
    project = build_project(client, 2, lambda i: None, name='serve-secret')
    result, logger = run_inference(serving_backend, project.id, release['id'], model)
    assert result.success_count == 2
    token = serving_backend.token
    head = serving_backend.agent.head
    assert files_containing(head, token) == []
    jobs = job_submission_client(head.dashboard_url).list_jobs()
    assert jobs and all(token not in json.dumps([j.metadata, j.runtime_env, j.entrypoint], default=str) for j in jobs)
    assert token not in json.dumps([e.data for e in logger.entries], default=str)
    apps = json.dumps(client.list_serve_applications(params={'plugin_code': 'echo-secret'}))
    assert token not in apps
    client.close()
