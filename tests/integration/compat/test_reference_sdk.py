"""The platform's own client, ``synapse-sdk==2026.2.17`` unchanged, against the local backend over HTTP.

Our client makes a project (tasks over data units of an image and a JSON label each), a plugin
release, a task tag and a labelled dataset; then, in the reference SDK's own Python 3.12 venv,
``reference_client_script.py`` makes the reference ``BackendClient``'s calls and runs its
``ToTaskAction`` (file method) with a plugin that reads files with plain ``urllib``. Every task
must come back annotated, read through our API.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.local.app import create_app
from synapse_sdk.local.setup import init_local

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1800)]

SCRIPT = Path(__file__).with_name('reference_client_script.py')
STEMS = ('cat', 'dog', 'owl', 'fox', 'elk')
PLUGIN, VERSION = 'compat-pre', '1.0.0'


def seed(client: BackendClient, http: httpx.Client) -> dict[str, Any]:
    """What the reference client will read: made with our client (and plain HTTP for the rest)."""
    specs = [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    collection = client.data_collections.create('animals', specs)
    project = client.projects.create('animals', data_collection=collection['id'])
    units = []
    for stem in STEMS:
        image = client.data_files.upload(f'image of a {stem}'.encode(), f'{stem}.jpg')
        label = client.data_files.upload(json.dumps({'label': stem}).encode(), f'{stem}.json')
        files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': label['id']}}
        units.append(client.data_units.create(collection['id'], files, key=stem))
        client.tasks.create(project['id'], data_unit=units[-1]['id'])
    client.plugin_releases.publish(PLUGIN, VERSION, {'code': PLUGIN, 'name': 'Compat', 'category': 'pre_annotation'})
    tag = http.post('task_tags/', json={'project': project['id'], 'name': 'reviewed'}).json()
    dataset = http.post('ground_truth_datasets/', json={'name': 'animals', 'project': project['id']}).json()
    body = {'name': 'v1', 'data_collection': collection['id'], 'ground_truth_dataset': dataset['id']}
    version = http.post('ground_truth_dataset_versions/', json=body).json()
    events = [
        {'ground_truth_dataset_version': version['id'], 'data_unit': u['id'], 'data': {'k': u['key']}} for u in units
    ]
    assert http.post('ground_truth_events/', json=events).status_code == 201
    agent = http.get('agents/').json()['results'][0]['id']
    return {
        'project': project['id'],
        'data_collection': collection['id'],
        'plugin_code': PLUGIN,
        'plugin_version': VERSION,
        'task_tag': tag['id'],
        'ground_truth_dataset': dataset['id'],
        'ground_truth_dataset_version': version['id'],
        'agent': agent,
    }


def run_reference(python: Path, params: dict[str, Any], work: Path) -> dict[str, Any]:
    (work / 'params.json').write_text(json.dumps(params))
    env = {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'HOME': str(work),  # the reference SDK's own config and caches stay in the test's folder
        'PYTHONNOUSERSITE': '1',
        'SYNAPSE_LANGUAGE': 'en',
    }
    done = subprocess.run(
        [str(python), str(SCRIPT), str(work / 'params.json'), str(work / 'out.json')],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f'the reference SDK failed:\n{(done.stdout + done.stderr)[-6000:]}'
    return json.loads((work / 'out.json').read_text())


def test_reference_sdk_runs_to_task_against_the_local_backend(
    reference_python: Path, tmp_path: Path, asgi_server: Any
) -> None:
    state_dir = tmp_path / 'local'
    token = init_local(state_dir).token
    assert token is not None
    app = create_app(state_dir)
    headers = {'Synapse-Access-Token': f'Token {token}'}
    try:
        with (
            asgi_server(app) as url,
            BackendClient(url, token) as client,
            httpx.Client(base_url=url, headers=headers) as http,
        ):
            ids = seed(client, http)
            work = tmp_path / 'reference'
            work.mkdir()
            out = run_reference(reference_python, {'url': url, 'token': token, **ids}, work)
            tasks, _count = client.list_tasks({'project': ids['project']}, list_all=True)
            annotated = {task['id']: task['data'] for task in tasks}
            units = {u['id']: u['key'] for u in http.get('data_units/', params={'page_size': 100}).json()['results']}
            task_units = {
                t['id']: t['data_unit'] for t in http.get('tasks/', params={'page_size': 100}).json()['results']
            }
    finally:
        app.close()

    # the reference client's calls, answered as it expects
    assert out['project']['data_collection'] == ids['data_collection']
    assert out['tasks']['count'] == len(STEMS) == len(out['tasks']['ids'])
    assert set(out['task']) == {'id', 'data', 'data_unit'} and out['task']['data_unit']['files']['image']['is_primary']
    assert [spec['name'] for spec in out['data_collection']['file_specifications']] == ['image', 'annotation_data']
    assert out['unit_files'] == [
        {'image': f'image of a {stem}', 'annotation_data': json.dumps({'label': stem})} for stem in STEMS
    ]  # downloaded by the reference client itself, without a token
    assert [(r['code'], r['version']) for r in out['releases']] == [(PLUGIN, VERSION)]
    assert out['release']['plugin']['code'] == PLUGIN  # expand=plugin
    assert [t['name'] for t in out['task_tags']['results']] == ['reviewed'] and out['task_tag']['name'] == 'reviewed'
    assert [v['id'] for v in out['versions']['results']] == [ids['ground_truth_dataset_version']]
    assert out['version']['ground_truth_dataset'] == ids['ground_truth_dataset']
    assert [(gt['data'], gt['files']['image']) for gt in out['ground_truths']] == [
        ({'k': stem}, f'image of a {stem}') for stem in STEMS
    ]
    # tasks in bulk: tags set and filtered on, the data and files views (files downloaded by the reference client)
    assert out['set_tags'] == {'updated': 2} and out['tagged']['listed'] == out['tagged']['asked']
    assert out['tasks_data'] == [['data', 'id']] * len(STEMS)
    assert out['tasks_files'] == out['unit_files']

    # ToTask annotated every task, and the backend kept what it wrote
    result = out['to_task']
    assert (result['status'], result['total_tasks'], result['success_count'], result['failed_count']) == (
        'SUCCEEDED',
        len(STEMS),
        len(STEMS),
        0,
    ), result
    assert len(annotated) == len(STEMS)
    for task_id, data in annotated.items():
        stem = units[task_units[task_id]]
        assert data == {'label': stem, 'image': f'{stem}.jpg', 'image_size': len(f'image of a {stem}')}, task_id
