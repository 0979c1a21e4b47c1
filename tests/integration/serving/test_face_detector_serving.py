"""The face-detector example as a new user runs it: published, its model uploaded, ToTask by inference on Serve.

Real Ray Serve (the session's agent), real OpenCV, real images with known faces; every box is checked
against the truth (IoU >= 0.5).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.integration.serving.conftest import publish
from tests.integration.serving.test_inference_end_to_end import run_inference
from tests.support.example_modules import load_example_module

from synapse_sdk import serving

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(300)]

EXAMPLE = Path(__file__).parents[3] / 'examples' / 'face-detector-plugin'


def _project(client, images: list[tuple[str, bytes]], name: str) -> tuple[int, list[int]]:
    collection = client.data_collections.create(f'{name}-c', [{'name': 'image', 'is_primary': True}])
    project = client.projects.create(name, data_collection=collection['id'])
    ids = []
    for file_name, content in images:
        image = client.data_files.upload(content, file_name)
        unit = client.data_units.create(collection['id'], {'image': {'file': image['id'], 'is_primary': True}})
        ids.append(int(client.tasks.create(project['id'], data_unit=unit['id'])['id']))
    return int(project['id']), ids


def _boxes(task_data: dict) -> list[dict]:
    return [
        {'x': a['data']['x'], 'y': a['data']['y'], 'w': a['data']['width'], 'h': a['data']['height']}
        for a in task_data['annotations']['image_1']
    ]


def test_every_task_gets_the_known_faces_and_a_non_image_fails_alone(serving_backend, tmp_path):
    faces = load_example_module('serving_faces', EXAMPLE / 'plugin' / 'faces.py')
    matching = load_example_module('serving_matching', EXAMPLE / 'plugin' / 'matching.py')
    samples = load_example_module('serving_samples', EXAMPLE / 'samples.py').make_samples(
        tmp_path / 'images', count=12, seed=3
    )
    client = serving_backend.client()
    deleted = False
    try:
        _annotate_and_check(serving_backend, client, faces, matching, samples, tmp_path)
        # free the app's CPU: the session's cluster has two, and later tests deploy apps of their own
        serving.serve_delete('face-detector', serving_backend.agent.ensure_ray().dashboard_url)
        deleted = True
        # the agent sees the app gone from Ray and says so on its row (not DEPLOY_FAILED, not RUNNING)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            [row] = client.list_serve_applications(params={'plugin_code': 'face-detector'})
            if row['status'] != 'RUNNING':
                break
            time.sleep(0.2)
        assert (row['status'], row['meta']['message']) == ('NOT_STARTED', 'The Serve application was deleted')
    finally:
        client.close()
        if not deleted:
            serving.serve_delete('face-detector', serving_backend.agent.ensure_ray().dashboard_url)


def _annotate_and_check(serving_backend, client, faces, matching, samples, tmp_path) -> None:
    release = publish(client, EXAMPLE)
    assert release['config']['actions']['deployment']['serve_options']['batch']['max_batch_size'] == 8
    model_dir = faces.build_model_folder(tmp_path / 'haar')
    model = client.create_model({'file': str(model_dir), 'name': 'haar', 'plugin_release': release['id']})
    images = [(s.path.name, s.path.read_bytes()) for s in samples] + [('broken.jpg', b'\xff\xd8 not really')]
    project, ids = _project(client, images, 'faces-served')

    deployed = _dry_run_commit_and_undo(serving_backend, client, project, ids, release['id'], model['id'])

    result, logger = run_inference(serving_backend, project, release['id'], model['id'])

    assert (result.success_count, result.failed_count) == (12, 1), result.failures
    [failure] = result.failures
    assert failure.task_id == ids[-1]
    assert "Pre-processor 'face-detector' failed" in failure.error
    assert 'not an image: 13 bytes OpenCV cannot decode' in failure.error
    assert client.get_task(ids[-1])['data'] == {}  # nothing written for it
    false_positives = 0
    for sample, task_id in zip(samples, ids, strict=False):
        data = client.get_task(task_id)['data']
        outcome = matching.match(sample.boxes, _boxes(data), 0.5)
        assert not outcome.missed, (sample.name, sample.boxes, data)
        false_positives += len(outcome.false_positives)
    assert false_positives <= 2
    messages = [e.data['content'] for e in logger.events('message')]
    assert 'Pre-processor already running' in messages  # the dry run deployed it
    assert any(m.startswith('Pre-processor face-detector: RUNNING') for m in deployed), deployed
    assert any('window(s) of up to 8 task(s)' in m for m in messages), messages
    app = client.list_serve_applications(params={'plugin_code': 'face-detector'})[0]
    assert app['status'] == 'RUNNING' and app['meta']['url'].endswith('/face-detector/')


def _dry_run_commit_and_undo(serving_backend, client, project, ids, release, model) -> list[str]:
    """The inference method reviewed: a dry run writes nothing, a commit writes the approved, undo takes it back."""
    from synapse_sdk.plugins.actions.to_task.commit import commit_run, undo_run
    from synapse_sdk.plugins.actions.to_task.record import open_run

    dry, logger = run_inference(serving_backend, project, release, model, dry_run=True, sample=4)
    assert (dry.dry_run, dry.success_count) == (True, 4)
    assert all(client.get_task(t)['data'] == {} for t in ids)
    with open_run(dry.run_id) as record:
        entries = list(record.entries())
        assert [e.task_id for e in entries] == ids[:4]
        assert all(e.summary['added'] == len(_boxes(e.proposed)) for e in entries)
        assert sum(e.summary['added'] for e in entries) >= 2  # the samples hold faces (some none)
        record.decide(ids[:2], 'approved')
        assert commit_run(record, client).written == 2
        assert [client.get_task(t)['data'] for t in ids[:2]] == [e.proposed for e in entries[:2]]
        assert all(client.get_task(t)['data'] == {} for t in ids[2:])
        assert undo_run(record, client).restored == 2
    assert all(client.get_task(t)['data'] == {} for t in ids)
    return [e.data['content'] for e in logger.events('message')]
