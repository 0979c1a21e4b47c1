"""The MCP server in process (the `mcp` package's in-memory client): tools, hints, results, errors, dry runs."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from typer.testing import CliRunner

from synapse_sdk.cli.mcp import app as mcp_app
from synapse_sdk.exceptions import ConfigError
from synapse_sdk.mcp import BackendHandle, ToolHints, ToolSpec, WritePolicy, build_server, plugin_tools, write_policy
from synapse_sdk.mcp.client_config import client_config, synapse_command

ROOT = Path(__file__).resolve().parents[3]
HELLO = ROOT / 'examples' / 'hello-plugin'
OBJECT = {'type': 'object', 'properties': {}}

STAMP_CONFIG = """
name: Stamp
code: stamp
version: 0.1.0
category: pre_annotation
actions:
  stamp:
    entrypoint: plugin.actions:stamp
    description: Write a stamp file
"""
STAMP_ACTIONS = """
from pathlib import Path

from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action


class StampParams(BaseModel):
    target: str
    copies: int = 1


@action(name='stamp', params=StampParams)
def stamp(params: StampParams, ctx: RuntimeContext) -> dict:
    Path(params.target).write_text('stamped' * params.copies)
    return {'written': params.target}
"""


def session(server: Any, scenario: Any) -> Any:
    async def main() -> Any:
        async with Client(server) as client:
            return await scenario(client)

    return anyio.run(main)


def calls(server: Any, *made: tuple[str, dict[str, Any]]) -> list[Any]:
    async def scenario(client: Client) -> list[Any]:
        return [await client.call_tool(name, arguments) for name, arguments in made]

    return session(server, scenario)


READER = ToolHints(read_only=True, destructive=False, idempotent=True)


def spec(name: str, call: Any, hints: ToolHints = READER) -> ToolSpec:
    return ToolSpec(name, name.title(), f'The {name} tool', OBJECT, hints, call)


@pytest.fixture
def stamp_plugin(tmp_path: Path) -> Path:
    folder = tmp_path / 'stamp-plugin'
    (folder / 'plugin').mkdir(parents=True)
    (folder / 'config.yaml').write_text(STAMP_CONFIG)
    (folder / 'plugin' / '__init__.py').write_text('')
    (folder / 'plugin' / 'actions.py').write_text(textwrap.dedent(STAMP_ACTIONS))
    return folder


def no_backend() -> None:
    return None


def test_every_tool_is_listed_with_its_schema_and_the_hints_it_was_given():
    schema = {'type': 'object', 'properties': {'n': {'type': 'integer'}}, 'required': ['n']}
    tools = [
        ToolSpec('reader', 'Reader', 'Reads', schema, ToolHints(True, False, True), lambda a: a),
        ToolSpec('writer', 'Writer', 'Writes', OBJECT, ToolHints(False, True, False, open_world=True), lambda a: a),
    ]
    listing = session(build_server(tools), lambda client: client.list_tools())
    listed = {tool.name: tool for tool in listing.tools}
    assert listed['reader'].input_schema == schema
    notes = {name: tool.annotations.model_dump(exclude_none=True) for name, tool in listed.items()}
    assert notes == {
        'reader': {
            'title': 'Reader',
            'read_only_hint': True,
            'destructive_hint': False,
            'idempotent_hint': True,
            'open_world_hint': False,
        },
        'writer': {
            'title': 'Writer',
            'read_only_hint': False,
            'destructive_hint': True,
            'idempotent_hint': False,
            'open_world_hint': True,
        },
    }


def test_results_are_json_objects_in_structured_content_and_text():
    server = build_server([spec('echo', lambda a: a), spec('items', lambda a: [1, 2])])
    echoed, items = calls(server, ('echo', {'x': [1, 'two']}), ('items', {}))
    assert echoed.structured_content == {'x': [1, 'two']}
    assert json.loads(echoed.content[0].text) == {'x': [1, 'two']}
    assert items.structured_content == {'result': [1, 2]}


def test_a_failing_tool_is_an_error_result_with_its_message_and_the_server_goes_on():
    def fails(arguments: dict[str, Any]) -> Any:
        raise KeyError('missing')

    def buggy(arguments: dict[str, Any]) -> Any:
        raise RuntimeError('plugin bug\nsecond line')

    server = build_server([spec('fails', fails), spec('buggy', buggy), spec('echo', lambda a: a)])
    failed, bug, unknown, echoed = calls(server, ('fails', {}), ('buggy', {}), ('nope', {}), ('echo', {'ok': 1}))
    assert (failed.is_error, failed.content[0].text) == (True, "'missing'")
    assert (bug.is_error, bug.content[0].text) == (True, 'RuntimeError: plugin bug second line')
    assert (unknown.is_error, unknown.content[0].text) == (
        True,
        "Unknown tool 'nope'; available tools: fails, buggy, echo",
    )
    assert echoed.structured_content == {'ok': 1}


def test_secrets_are_masked_in_results_and_errors():
    secret = 'sk-live-0123456789abcdef'

    def leaks(arguments: dict[str, Any]) -> Any:
        if arguments.get('fail'):
            raise ValueError(f'refused with {secret}')
        return {'nested': [{'value': f'{secret}!'}], secret: 1}

    server = build_server([spec('leaks', leaks)], secrets=(secret,))
    value, error = calls(server, ('leaks', {}), ('leaks', {'fail': True}))
    assert value.structured_content == {'nested': [{'value': '***!'}], '***': 1}
    assert error.content[0].text == 'refused with ***'
    assert secret not in value.model_dump_json() + error.model_dump_json()


def test_tool_specs_refuse_names_clients_cannot_call_and_schemas_that_are_not_objects():
    with pytest.raises(ValueError, match=r"^tool name 'a b': use 1 to 64 letters, digits, _ or -$"):
        ToolSpec('a b', 'A', 'a', OBJECT, ToolHints(True, False, True), lambda a: a)
    with pytest.raises(ValueError, match=r"^tool 'a': its input schema must be a JSON object schema \(type: object\)$"):
        ToolSpec('a', 'A', 'a', {'type': 'array'}, ToolHints(True, False, True), lambda a: a)


def test_a_writing_action_without_a_dry_run_switch_runs_only_with_dry_run_false(stamp_plugin, tmp_path):
    target = tmp_path / 'stamp.txt'
    tools = {tool.name: tool for tool in plugin_tools(stamp_plugin, backend=BackendHandle(no_backend))}
    stamp = tools['stamp']
    assert stamp.input_schema['properties']['dry_run'] == {
        'type': 'boolean',
        'default': True,
        'title': 'Dry Run',
        'description': 'Only check the params (true, the default); false runs the action, which writes',
    }
    assert stamp.hints == ToolHints(read_only=False, destructive=True, idempotent=False, open_world=True)
    server = build_server(list(tools.values()))
    checked, bad, invalid, ran = calls(
        server,
        ('stamp', {'target': str(target)}),
        ('stamp', {'target': str(target), 'dry_run': 'no'}),
        ('stamp', {'target': str(target), 'copies': 'two', 'dry_run': True}),
        ('stamp', {'target': str(target), 'dry_run': False}),
    )
    assert checked.structured_content == {
        'dry_run': True,
        'ran': False,
        'action': 'stamp',
        'params': {'target': str(target), 'copies': 1},
        'message': 'Dry run: the params are valid; stamp was not run because it writes task data. '
        'Call it again with "dry_run": false to run it.',
    }
    assert bad.content[0].text == "Parameter validation failed: dry_run: expected true or false, got str 'no'"
    assert invalid.content[0].text == (
        'Parameter validation failed: copies: Input should be a valid integer, unable to parse string as an integer'
    )
    assert ran.structured_content == {'written': str(target)}
    assert target.read_text() == 'stamped'


def test_write_policy_follows_the_params_and_the_category(stamp_plugin):
    from synapse_sdk.plugins.actions.to_task import ToTaskAction
    from synapse_sdk.plugins.discovery import PluginDiscovery

    assert write_policy(ToTaskAction) is WritePolicy.SWITCH
    assert write_policy(PluginDiscovery.from_path(stamp_plugin).get_action_class('stamp')) is WritePolicy.REFUSE
    assert write_policy(PluginDiscovery.from_path(HELLO).get_action_class('greet')) is WritePolicy.NONE


def test_backend_tools_without_a_backend_name_the_fix():
    tools = {tool.name: tool for tool in plugin_tools(HELLO, backend=BackendHandle(no_backend))}
    (result,) = calls(build_server(list(tools.values())), ('synapse_list_projects', {}))
    assert result.is_error
    assert result.content[0].text == (
        'No backend to talk to: run `synapse login`, or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN '
        "in the MCP server's environment (the client's config snippet from `synapse mcp init`)"
    )


def test_a_folder_without_a_plugin_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match=r'^No plugin at .*: config\.yaml not found; run in a plugin folder or pass'):
        plugin_tools(tmp_path)


def test_init_prints_a_client_config_with_absolute_paths_and_no_credentials(monkeypatch):
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'never-in-the-snippet-123')
    done = CliRunner().invoke(mcp_app, ['init', '--path', str(HELLO)])
    assert done.exit_code == 0, done.output
    snippet = json.loads(done.output)
    command = synapse_command()
    assert command == [str(Path(sys.executable).parent / 'synapse')]
    args = ['mcp', 'serve', '--path', str(HELLO.resolve())]
    assert snippet == {'mcpServers': {'synapse-hello': {'command': command[0], 'args': args}}}
    assert snippet == client_config(HELLO)
    assert 'never-in-the-snippet-123' not in done.output


def test_init_takes_the_config_file_too_and_names_the_server_as_asked():
    snippet = client_config(HELLO / 'config.yaml', name='hello-dev')
    assert snippet['mcpServers']['hello-dev']['args'] == ['mcp', 'serve', '--path', str(HELLO.resolve())]


def test_init_outside_a_plugin_fails_with_one_line(tmp_path):
    done = CliRunner().invoke(mcp_app, ['init', '--path', str(tmp_path)])
    assert done.exit_code == 1
    assert 'No plugin at' in done.output and 'pass --path DIR' in done.output


def test_the_package_exports_are_pinned_sorted_and_resolve():
    import synapse_sdk.mcp as package

    assert package.__all__ == [
        'BackendHandle',
        'ToolHints',
        'ToolSpec',
        'WritePolicy',
        'build_server',
        'client_config',
        'plugin_folder',
        'plugin_tools',
        'serve',
        'write_policy',
    ]
    assert all(getattr(package, name) is not None for name in package.__all__)
