"""`python -m synapse_sdk.mcp serve` as a subprocess, driven by the `mcp` package's own stdio client.

The server talks to the real local backend over HTTP (credentials only from its environment);
what the tools write is read back through the API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from tests.integration.to_task.conftest import build_project

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.plugins.discovery import PluginDiscovery

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
HELLO = ROOT / 'examples' / 'hello-plugin'
PRE_ANNOTATION = ROOT / 'examples' / 'pre-annotation-plugin'
SYNAPSE = Path(sys.executable).parent / 'synapse'
BACKEND_TOOLS = [
    'synapse_list_projects',
    'synapse_list_tasks',
    'synapse_list_jobs',
    'synapse_list_serve_apps',
    'synapse_get_job_progress',
    'synapse_publish_plugin',
]
READ_ONLY = (True, False, True)  # (readOnlyHint, destructiveHint, idempotentHint)


@pytest.fixture
def server_env(local_backend, tmp_path) -> dict[str, str]:
    """The server's environment: the local backend over HTTP, and state and config dirs of this test only."""
    return {
        'SYNAPSE_HOST': local_backend.base_url,
        'SYNAPSE_ACCESS_TOKEN': local_backend.token,
        'SYNAPSE_STATE_DIR': str(tmp_path / 'state'),
        'SYNAPSE_CONFIG_DIR': str(tmp_path / 'config'),
        'SYNAPSE_LOCAL_DIR': str(tmp_path / 'local'),
    }


@pytest.fixture
def client(local_backend):
    retry = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
    with BackendClient(local_backend.base_url, local_backend.token, retry=retry) as backend:
        yield backend


MODULE = ['-m', 'synapse_sdk.mcp']
#: the typer command of `synapse mcp` (what `synapse mcp serve` runs once registered on the root app)
TYPER = ['-c', 'from synapse_sdk.cli.mcp import app; app()']


def talk(
    plugin: Path,
    env: dict[str, str],
    scenario: Callable[[ClientSession], Awaitable[Any]],
    entry: list[str] = MODULE,
) -> Any:
    """Start the server for ``plugin`` over stdio, initialize a session and run ``scenario`` on it."""
    params = StdioServerParameters(
        command=sys.executable, args=[*entry, 'serve', '--path', str(plugin)], env=env, cwd=str(ROOT)
    )

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await scenario(session)

    return anyio.run(main)


def call(plugin: Path, env: dict[str, str], *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """The results of ``calls`` (tool name, arguments), made in order in one session."""

    async def scenario(session: ClientSession) -> list[Any]:
        return [await session.call_tool(name, arguments) for name, arguments in calls]

    return talk(plugin, env, scenario)


def text_of(result: Any) -> str:
    assert len(result.content) == 1
    return result.content[0].text


def hints(tool: Any) -> tuple[bool | None, bool | None, bool | None]:
    notes = tool.annotations
    return notes.read_only_hint, notes.destructive_hint, notes.idempotent_hint


def cli_error(*args: str) -> str:
    """What `synapse` prints after `Error: ` for a failed command."""
    env = {**os.environ, 'COLUMNS': '200', 'NO_COLOR': '1'}
    done = subprocess.run([str(SYNAPSE), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith('Error: ') and done.stderr.count('\n') == 1, done.stderr
    return done.stderr.removeprefix('Error: ').rstrip('\n')


def test_tool_list_of_the_hello_plugin_is_its_actions_with_their_schemas_and_hints(server_env):
    listing = talk(HELLO, server_env, lambda session: session.list_tools())
    tools = {tool.name: tool for tool in listing.tools}
    assert list(tools) == ['greet', 'count', *BACKEND_TOOLS]
    discovery = PluginDiscovery.from_path(HELLO)
    for key in ('greet', 'count'):
        assert tools[key].input_schema == discovery.get_action_params_model(key).model_json_schema()
    assert tools['greet'].description == 'Greet someone'
    assert (
        {name: hints(tool) for name, tool in tools.items()}
        == {
            'greet': (False, True, False),  # a custom action may do anything: MCP's cautious defaults
            'count': (False, True, False),
            **dict.fromkeys(BACKEND_TOOLS[:-1], READ_ONLY),
            'synapse_publish_plugin': (False, False, True),
        }
    )
    assert tools['synapse_list_tasks'].input_schema['required'] == ['project']
    assert tools['synapse_list_tasks'].input_schema['properties']['project']['type'] == 'integer'


def test_tool_list_of_the_pre_annotation_plugin_shows_a_dry_run_switch_that_defaults_to_true(server_env):
    listing = talk(PRE_ANNOTATION, server_env, lambda session: session.list_tools())
    tools = {tool.name: tool for tool in listing.tools}
    assert list(tools) == ['to_task', *BACKEND_TOOLS]
    schema = tools['to_task'].input_schema
    expected = PluginDiscovery.from_path(PRE_ANNOTATION).get_action_params_model('to_task').model_json_schema()
    assert schema['properties'].pop('dry_run')['default'] is True
    assert expected['properties'].pop('dry_run')['default'] is False  # the action's own default
    assert schema == expected
    assert hints(tools['to_task']) == (False, True, True)
    assert tools['to_task'].description.endswith(
        'Runs as a dry run (writes nothing) unless called with "dry_run": false.'
    )


def test_calling_an_action_tool_returns_the_action_result_as_structured_content_and_text(server_env):
    formal, default = call(HELLO, server_env, ('greet', {'name': 'Ada', 'formal': True}), ('greet', {}))
    assert not formal.is_error
    assert formal.structured_content == {'message': 'Dear Ada!'}
    assert json.loads(text_of(formal)) == {'message': 'Dear Ada!'}
    assert default.structured_content == {'message': 'Hello world!'}


@pytest.mark.parametrize(
    'params',
    [{'name': 'Ada', 'formall': True}, {'formal': 'maybe'}, {'name': ['Ada']}],
    ids=['unknown-key', 'not-a-boolean', 'not-a-string'],
)
def test_params_that_fail_the_schema_get_the_cli_message(server_env, params):
    (result,) = call(HELLO, server_env, ('greet', params))
    expected = cli_error('plugin', 'run', 'greet', '--path', str(HELLO), '--params', json.dumps(params))
    assert expected.startswith('Parameter validation failed: ')
    assert result.is_error
    assert text_of(result) == expected


def test_backend_tool_arguments_are_checked_field_by_field(server_env):
    missing, unknown, bad = call(
        HELLO,
        server_env,
        ('synapse_list_tasks', {}),
        ('synapse_list_projects', {'pagesize': 5}),
        ('synapse_list_jobs', {'status': 'DONE'}),
    )
    assert (missing.is_error, unknown.is_error, bad.is_error) == (True, True, True)
    assert text_of(missing) == 'Parameter validation failed: project: Field required'
    assert text_of(unknown) == "Parameter validation failed: unknown param 'pagesize': did you mean 'page_size'?"
    assert text_of(bad) == (
        "Parameter validation failed: status: Input should be 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED' or 'STOPPED'"
    )


def boxes(i: int) -> bytes:
    return json.dumps({'boxes': [{'label': 'car', 'x': i, 'y': 2, 'w': 3, 'h': 4}]}).encode()


def test_to_task_without_dry_run_false_writes_nothing_and_with_it_writes(server_env, client):
    project = build_project(client, 3, boxes, name='mcp')
    before = {task_id: client.get_task(task_id)['data'] for task_id in project.task_ids}
    params = {'name': 'mcp', 'project': project.id, 'agent': 1, 'target_specification_name': 'annotation_data'}

    (dry,) = call(PRE_ANNOTATION, server_env, ('to_task', params))
    assert not dry.is_error, text_of(dry)
    assert dry.structured_content['dry_run'] is True
    assert (dry.structured_content['success_count'], dry.structured_content['failed_count']) == (3, 0)
    assert {task_id: client.get_task(task_id)['data'] for task_id in project.task_ids} == before

    (real,) = call(PRE_ANNOTATION, server_env, ('to_task', {**params, 'dry_run': False}))
    assert not real.is_error, text_of(real)
    assert real.structured_content['dry_run'] is False
    written = client.get_task(project.task_ids[0])['data']
    assert written['annotations']['image_1'][0]['data'] == {'x': 0.0, 'y': 2.0, 'width': 3.0, 'height': 4.0}


def test_backend_tools_read_projects_tasks_jobs_serve_apps_and_a_jobs_progress(server_env, client):
    project = build_project(client, 3, boxes, name='mcp-list')
    job = client.jobs.create({'action': 'train', 'params': {'epochs': 2}})
    client.jobs.update(job['id'], {'status': 'RUNNING', 'progress_record': {'train': {'percent': 40.0}}})
    projects, first, second, jobs, apps, progress = call(
        HELLO,
        server_env,
        ('synapse_list_projects', {'page_size': 1}),
        ('synapse_list_tasks', {'project': project.id, 'page_size': 2}),
        ('synapse_list_tasks', {'project': project.id, 'page_size': 2, 'page': 2}),
        ('synapse_list_jobs', {'action': 'train', 'status': 'RUNNING'}),
        ('synapse_list_serve_apps', {}),
        ('synapse_get_job_progress', {'job_id': job['id']}),
    )
    assert projects.structured_content['count'] == len(client.projects.list())
    assert len(projects.structured_content['results']) == 1
    assert (first.structured_content['count'], first.structured_content['page']) == (3, 1)
    listed = [t['id'] for page in (first, second) for t in page.structured_content['results']]
    assert listed == project.task_ids
    assert job['id'] in [j['id'] for j in jobs.structured_content['results']]
    assert {j['status'] for j in jobs.structured_content['results']} == {'RUNNING'}
    assert apps.structured_content['count'] == len(client.serve_applications.list())
    assert progress.structured_content | {'updated_at': None} == {
        'id': job['id'],
        'action': 'train',
        'status': 'RUNNING',
        'finished': False,
        'progress': {'train': {'percent': 40.0}},
        'metrics': {},
        'updated_at': None,
    }


def test_publish_is_a_dry_run_unless_dry_run_false(server_env, client, tmp_path):
    plugin = tmp_path / 'mcp-publish'
    shutil.copytree(HELLO, plugin, ignore=shutil.ignore_patterns('__pycache__'))
    config = plugin / 'config.yaml'
    config.write_text(config.read_text().replace('code: hello', 'code: mcp-publish-probe'))
    releases = client.plugin_releases.list()

    (dry,) = call(plugin, server_env, ('synapse_publish_plugin', {}))
    assert not dry.is_error, text_of(dry)
    assert (dry.structured_content['dry_run'], dry.structured_content['published']) == (True, False)
    assert dry.structured_content['release'] == 'mcp-publish-probe@0.1.0'
    assert 'config.yaml' in dry.structured_content['files']
    assert client.plugin_releases.list() == releases

    (real,) = call(plugin, server_env, ('synapse_publish_plugin', {'dry_run': False}))
    assert not real.is_error, text_of(real)
    assert (real.structured_content['dry_run'], real.structured_content['published']) == (False, True)
    published = client.plugin_releases.get(real.structured_content['id'])
    assert (published['code'], published['version']) == ('mcp-publish-probe', '0.1.0')


def test_the_token_never_appears_in_a_result_or_an_error(server_env, client, local_backend):
    token = local_backend.token
    job = client.jobs.create({'action': 'leak', 'params': {'copied': token}, 'meta': {'header': f'Token {token}'}})
    results = call(
        HELLO,
        server_env,
        ('synapse_list_jobs', {'action': 'leak'}),
        ('synapse_get_job_progress', {'job_id': job['id']}),
        ('synapse_get_job_progress', {'job_id': 10**9}),
        ('greet', {'name': token}),
    )
    leaked_job = results[0].structured_content['results'][0]
    assert leaked_job['params'] == {'copied': '***'}
    assert results[2].is_error and text_of(results[2]) == '404: Job 1000000000 not found'
    assert results[3].structured_content == {'message': 'Hello ***!'}
    wrong = {**server_env, 'SYNAPSE_ACCESS_TOKEN': 'wrong-token-0123456789'}
    (refused,) = call(HELLO, wrong, ('synapse_list_projects', {}))
    assert refused.is_error
    assert text_of(refused).startswith('401: Invalid token. The backend at http://127.0.0.1:')
    for result in (*results, refused):
        dumped = result.model_dump_json()
        assert token not in dumped
        assert 'wrong-token-0123456789' not in dumped


NOISY_ACTIONS = """
import sys

from synapse_sdk.plugins import RuntimeContext, action

print('printed at import')


@action(name='noisy')
def noisy(params, ctx: RuntimeContext) -> dict:
    print('printed by the action')
    sys.stdout.write('written to stdout\\n')
    sys.stdout.flush()
    return {'quiet': True}
"""


def exchange(entry: list[str], plugin: Path, env: dict[str, str], *messages: dict[str, Any]) -> list[str]:
    """Every line the server writes to stdout until it answers the last request of ``messages``."""
    server = subprocess.Popen(
        [sys.executable, *entry, 'serve', '--path', str(plugin)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    assert server.stdin is not None and server.stdout is not None
    lines: list[str] = []
    try:
        for message in messages:
            server.stdin.write(json.dumps({'jsonrpc': '2.0', **message}) + '\n')
            server.stdin.flush()
            while 'id' in message:
                line = server.stdout.readline()
                assert line, f'the server closed stdout; it wrote: {lines}'
                lines.append(line.rstrip('\n'))
                if line.startswith('{') and json.loads(line).get('id') == message['id']:
                    break
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()
    return lines


def test_the_typer_command_serves_and_stray_prints_of_plugin_code_stay_off_the_protocol_stream(server_env, tmp_path):
    plugin = tmp_path / 'noisy-plugin'
    (plugin / 'noisy_pkg').mkdir(parents=True)
    (plugin / 'noisy_pkg' / '__init__.py').write_text('')
    (plugin / 'noisy_pkg' / 'actions.py').write_text(NOISY_ACTIONS)
    (plugin / 'config.yaml').write_text(
        'name: Noisy\ncode: noisy\nversion: 0.1.0\nactions:\n  noisy:\n    entrypoint: noisy_pkg.actions:noisy\n'
    )
    hello = {'protocolVersion': '2025-06-18', 'capabilities': {}, 'clientInfo': {'name': 'test', 'version': '1'}}
    lines = exchange(
        TYPER,
        plugin,
        server_env,
        {'id': 1, 'method': 'initialize', 'params': hello},
        {'method': 'notifications/initialized'},
        {'id': 2, 'method': 'tools/call', 'params': {'name': 'noisy', 'arguments': {}}},
    )
    replies = [json.loads(line) for line in lines]  # every line is JSON-RPC: the prints went to stderr
    assert [reply['id'] for reply in replies] == [1, 2]
    assert replies[1]['result']['structuredContent'] == {'quiet': True}


def test_importing_the_plugins_package_or_this_one_does_not_import_mcp():
    code = 'import sys, synapse_sdk.plugins, synapse_sdk.mcp; print(sorted(m for m in sys.modules if m == "mcp"))'
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == '[]\n'
