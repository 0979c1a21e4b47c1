"""`synapse plugin create --category pre_annotation` makes a real ToTaskAction that annotates a project's tasks.

The scaffold is created through the CLI, then `synapse plugin test` runs it against the local backend
over HTTP; the tasks' data is read back from the backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.discovery import PluginDiscovery

pytestmark = pytest.mark.integration

runner = CliRunner()
BOXES = [
    [{'label': 'car', 'x': 1, 'y': 2, 'w': 30, 'h': 40}],
    [{'label': 'person', 'x': 5.5, 'y': 6, 'w': 7, 'h': 8}, {'label': 'car', 'x': 0, 'y': 0, 'w': 1, 'h': 1}],
    [],
]


@pytest.fixture
def client(local_backend) -> Iterator[BackendClient]:
    with BackendClient(local_backend.base_url, local_backend.token) as backend:
        yield backend


@pytest.fixture
def scaffold(tmp_path):
    result = runner.invoke(
        app, ['plugin', 'create', '--yes', '--name', 'Box Pre', '--category', 'pre_annotation', '--path', str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / 'synapse-box-pre-plugin'


def tiny_project(client: BackendClient) -> tuple[int, list[int]]:
    """One task per entry of BOXES: an image and an ``annotation_data`` file of ``{"boxes": [...]}``."""
    collection = client.data_collections.create(
        'scaffold-collection', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    )
    project = client.projects.create('scaffold-project', data_collection=collection['id'])
    task_ids = []
    for index, boxes in enumerate(BOXES):
        image = client.data_files.upload(b'\xff\xd8fake-jpeg', f'img{index}.jpg')
        annotation = client.data_files.upload(json.dumps({'boxes': boxes}).encode(), f'img{index}.json')
        files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': annotation['id']}}
        unit = client.data_units.create(collection['id'], files, key=f'img{index}')
        task_ids.append(client.tasks.create(project['id'], data_unit=unit['id'])['id'])
    return project['id'], task_ids


def expected(boxes: list[dict]) -> dict:
    return {
        'annotations': {
            'image_1': [
                {
                    'id': f'box-{i}',
                    'tool': 'bounding_box',
                    'classification': {'class': box['label']},
                    'data': {
                        'x': float(box['x']),
                        'y': float(box['y']),
                        'width': float(box['w']),
                        'height': float(box['h']),
                    },
                }
                for i, box in enumerate(boxes)
            ]
        },
        'annotationsData': {'image_1': []},
    }


def test_the_scaffold_is_a_to_task_action_subclass(scaffold):
    action = PluginDiscovery.from_path(scaffold).get_action_class('to_task')
    assert issubclass(action, ToTaskAction) and action is not ToTaskAction
    source = (scaffold / 'plugin' / 'to_task.py').read_text()
    assert 'from synapse_sdk.plugins.actions.to_task import ToTaskAction' in source
    assert 'def convert_data_from_file(' in source and 'def convert_data_from_inference(' in source


def test_plugin_test_annotates_the_tasks_of_a_project_on_the_local_backend(
    scaffold, client, local_backend, monkeypatch
):
    project, task_ids = tiny_project(client)
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    params = {'name': 'pre-annotate', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data'}
    result = runner.invoke(app, ['plugin', 'test', 'to_task', '--path', str(scaffold), '--params', json.dumps(params)])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith('1 passed, 0 failed, 0 skipped')
    for task_id, boxes in zip(task_ids, BOXES, strict=True):
        assert client.tasks.get(task_id)['data'] == expected(boxes)


def test_without_params_plugin_test_says_which_it_needs(scaffold):
    result = runner.invoke(app, ['plugin', 'test', '--path', str(scaffold)], env={'COLUMNS': '250'})
    assert result.exit_code == 0, result.output
    assert 'needs params: name, project, agent (pass --params or add Field(examples=[...]))' in result.stdout
    assert result.stdout.rstrip().endswith('0 passed, 0 failed, 1 skipped')
