"""The example plugin through run_plugin, and seed 001's legacy ToTaskAction(run=..., params=...).start()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.to_task.conftest import build_project, make_client

from synapse_sdk.exceptions import NotFoundError, StepError
from synapse_sdk.plugins.categories.pre_annotation.actions.to_task import ToTaskAction as LegacyToTaskAction
from synapse_sdk.plugins.runner import run_plugin

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[3] / 'examples' / 'pre-annotation-plugin'


def boxes(i: int) -> bytes:
    return json.dumps({'boxes': [{'label': 'car', 'x': i, 'y': 2, 'w': 3, 'h': 4}]}).encode()


def test_example_plugin_runs_through_run_plugin_with_credentials_from_the_environment(local_backend, monkeypatch):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 3, lambda i: boxes(i) if i != 1 else b'{"objects": []}', name='example')
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    params = {'name': 'example', 'project': project.id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    result = run_plugin(str(EXAMPLE), 'to_task', params)
    assert (result.success_count, result.failed_count) == (2, 1)
    assert result.failures[0].error == "ValueError: img1.json: expected a 'boxes' list"
    written = client.get_task(project.task_ids[0])['data']
    assert written['annotations']['image_1'][0] == {
        'id': 'box-0',
        'tool': 'bounding_box',
        'classification': {'class': 'car'},
        'data': {'x': 0.0, 'y': 2.0, 'width': 3.0, 'height': 4.0},
    }


class LegacyRun:
    """What seed 001 passes as ``run``: a client and logging methods."""

    def __init__(self, client):
        self.client = client
        self.messages = []
        self.progress = []

    def log_message(self, message, context='info'):
        self.messages.append((context, message))

    def set_progress(self, current, total, category=''):
        self.progress.append((category, current, total))


def test_legacy_shim_start_returns_the_result_dict(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, lambda i: json.dumps({'annotations': {}, 'i': i}).encode(), name='legacy')
    params = {
        'name': 'File_Based_Annotation',
        'description': 'Annotate tasks from JSON files',
        'project': project.id,
        'agent': 1,
        'task_filters': {'status': 'pending'},
        'method': 'file',
        'target_specification_name': 'annotation_data',
        'pre_processor_params': {},
    }
    run_instance = LegacyRun(client)
    action = LegacyToTaskAction(run=run_instance, params=params)
    result = action.start()
    assert result['status'] == 'SUCCEEDED'
    assert result == {
        'status': 'SUCCEEDED',
        'message': 'to_task completed. success=2, failed=0',
        'total_tasks': 2,
        'success_count': 2,
        'failed_count': 0,
        'skipped_count': 0,
        'failures': [],
        'dry_run': False,
        'run_id': result['run_id'],  # the run record (undo)
        'summary': None,
    }
    assert ('info', 'Fetched 2 tasks for annotation') in run_instance.messages
    assert ('annotate_task_data', 2, 2) in run_instance.progress


def test_legacy_shim_raises_job_level_errors(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    params = {'name': 'x', 'project': 987654, 'agent': 1, 'target_specification_name': 'annotation_data'}
    with pytest.raises(StepError) as info:
        LegacyToTaskAction(run=LegacyRun(client), params=params).start()
    assert str(info.value) == "Step 'initialize' failed: Failed to initialize: 404: Project 987654 not found"
    assert type(info.value.__cause__) is NotFoundError  # the client's error itself, not an internal wrapper
    assert str(info.value.__cause__) == '404: Project 987654 not found'


def test_cli_plugin_run_to_task_prints_the_result(local_backend, monkeypatch):
    from typer.testing import CliRunner

    from synapse_sdk.cli.app import app

    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, boxes, name='cli')
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    params = {'name': 'cli', 'project': project.id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    result = CliRunner().invoke(
        app, ['plugin', 'run', 'to_task', '--path', str(EXAMPLE), '--params', json.dumps(params)]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index('{') :])
    assert (printed['status'], printed['success_count'], printed['failed_count']) == ('SUCCEEDED', 2, 0)

    bad = CliRunner().invoke(
        app, ['plugin', 'run', 'to_task', '--path', str(EXAMPLE), '--params', '{"name": "has space"}']
    )
    assert bad.exit_code == 1
    assert 'Error: Parameter validation failed: name: must not contain whitespace' in bad.output
    assert local_backend.token not in bad.output


@pytest.mark.parametrize(
    ('broken', 'code', 'status', 'says'),
    [
        (set(), 0, 'SUCCEEDED', None),
        ({1}, 3, 'SUCCEEDED', 'Exit code 3: the run finished with 1 failed item(s); see "failures" in the result.'),
        ({0, 1, 2}, 1, 'FAILED', 'Exit code 1: the run failed (3 failed).'),
    ],
    ids=['all written', 'some failed', 'all failed'],
)
def test_cli_exit_code_tells_scripts_how_the_run_ended(local_backend, monkeypatch, broken, code, status, says):
    from typer.testing import CliRunner

    from synapse_sdk.cli.app import app

    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 3, lambda i: b'{"nope": ' if i in broken else boxes(i), name=f'exit-{code}')
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    params = {'name': 'exit', 'project': project.id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    result = CliRunner().invoke(
        app, ['plugin', 'run', 'to_task', '--path', str(EXAMPLE), '--params', json.dumps(params)]
    )
    assert result.exit_code == code, result.output
    printed = json.loads(result.stdout[result.stdout.index('{') : result.stdout.rindex('}') + 1])
    assert (printed['status'], printed['failed_count']) == (status, len(broken))
    table = result.stderr
    assert all(word in table for word in ('status', 'total', 'succeeded', 'failed', 'skipped'))
    assert (says in table) if says else ('Exit code' not in table)
