"""`synapse plugin` commands through typer's CliRunner."""

import json
import re
import textwrap

import pytest
from typer.testing import CliRunner

from synapse_sdk import __version__
from synapse_sdk.cli import app

runner = CliRunner()

CONFIG = """
name: Demo
code: demo
actions:
  count:
    entrypoint: plugin.actions:CountAction
  greet:
    entrypoint: plugin.actions:greet
  boom:
    entrypoint: plugin.actions:boom
  needs:
    entrypoint: plugin.actions:needs
"""

ACTIONS = """
from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction, action


class CountParams(BaseModel):
    upto: int = Field(default=4, ge=1)


class CountAction(BaseAction[CountParams]):
    def execute(self) -> dict:
        self.ctx.log_message('counting', 'info')
        for i in range(self.params.upto):
            self.set_progress(i + 1, self.params.upto, 'counting')
        return {'counted': self.params.upto}


class GreetParams(BaseModel):
    name: str = Field(default='world', examples=['Ada'])


@action(params=GreetParams)
def greet(params, ctx):
    return {'message': f'Hello {params.name}!'}


@action
def boom(params, ctx):
    raise RuntimeError('it broke token=abcdef123456')


class NeedsParams(BaseModel):
    dataset: int
    label: str = Field(examples=['cat'])


@action(params=NeedsParams)
def needs(params, ctx):
    return params.model_dump()
"""


@pytest.fixture
def plugin(tmp_path):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(ACTIONS)
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    return tmp_path


def invoke(*args):
    return runner.invoke(app, list(args))


def test_version():
    result = invoke('--version')
    assert (result.exit_code, result.stdout) == (0, f'synapse-sdk {__version__}\n')


def test_run_prints_the_result_as_json_and_progress_on_stderr(plugin):
    result = invoke('plugin', 'run', 'count', '--path', str(plugin), '--params', '{"upto": 3}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {'counted': 3}
    assert 'counting' in result.stderr
    assert re.search(r'counting\s+\S+\s+100%\s+3/3\s+[0-9.]+ /s\s+done', result.stderr), result.stderr


def test_run_reads_params_from_a_file(plugin, tmp_path):
    (tmp_path / 'p.json').write_text('{"name": "Ada"}')
    result = invoke('plugin', 'run', 'greet', '-p', str(plugin), '--params', f'@{tmp_path / "p.json"}')
    assert (result.exit_code, json.loads(result.stdout)) == (0, {'message': 'Hello Ada!'})


def test_run_in_the_current_folder_with_default_params(plugin, monkeypatch):
    monkeypatch.chdir(plugin)
    result = invoke('plugin', 'run', 'greet')
    assert (result.exit_code, json.loads(result.stdout)) == (0, {'message': 'Hello world!'})


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (
            ['greet', '--params', '{bad'],
            '--params is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2',
        ),
        (['greet', '--params', '[1, 2]'], '--params must be a JSON object like {"name": "value"}, got list'),
        (['greet', '--params', '@missing.json'], 'params file not found: missing.json'),
        (['nope'], "Action 'nope' not found; available actions: count, greet, boom, needs"),
        (
            ['count', '--params', '{"upto": 0}'],
            'Parameter validation failed: upto: Input should be greater than or equal to 1',
        ),
        (
            ['boom'],
            'Action execution failed: it broke token=*** (plugin/actions.py:30, in boom); '
            'run again with --debug for the full traceback',
        ),
        (['greet', '--mode', 'cluster'], None),
    ],
)
def test_run_errors_are_one_line_with_exit_code_1(plugin, monkeypatch, args, message):
    monkeypatch.chdir(plugin)
    result = invoke('plugin', 'run', *args)
    if message is None:  # typer's own usage error for a bad --mode
        assert result.exit_code == 2
        flat = ' '.join(re.sub(r'[│╭╮╰╯─]', ' ', result.stderr).split())
        assert "'cluster' is not one of 'local', 'task', 'job'" in flat
        return
    assert result.exit_code == 1
    assert result.stdout == ''
    assert result.stderr == f'Error: {message}\n'


def test_malformed_config_names_file_line_and_column(tmp_path):
    (tmp_path / 'config.yaml').write_text('name: X\ncode: x\nactions:\n  a: : b\n')
    result = invoke('plugin', 'run', 'a', '--path', str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f'Error: {tmp_path / "config.yaml"}: invalid YAML at line 4, column 6: mapping values are not allowed here\n'
    )


def test_entrypoint_that_does_not_import(tmp_path):
    (tmp_path / 'config.yaml').write_text('name: X\ncode: x\nactions:\n  a:\n    entrypoint: missing_pkg_xyz.mod:A\n')
    result = invoke('plugin', 'run', 'a', '--path', str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Cannot import module 'missing_pkg_xyz.mod' for entrypoint 'missing_pkg_xyz.mod.A' of action 'a' "
        "(while importing 'missing_pkg_xyz'): ModuleNotFoundError: No module named 'missing_pkg_xyz'\n"
    )


def test_debug_shows_the_traceback(plugin):
    result = invoke('--debug', 'plugin', 'run', 'boom', '--path', str(plugin))
    assert result.exit_code == 1
    assert 'Traceback' in result.stderr
    assert result.stderr.rstrip().endswith('Error: Action execution failed: it broke token=***')
    assert invoke('plugin', 'run', 'boom', '--path', str(plugin)).stderr.count('\n') == 1


def test_plugin_test_reports_each_action(plugin):
    result = invoke('plugin', 'test', '--path', str(plugin))
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if '│' in line]
    rows = [line.split('│') for line in lines]
    verdicts = {cells[1].strip(): cells[2].strip() for cells in rows if cells[1].strip()}
    assert verdicts == {'count': 'PASSED', 'greet': 'PASSED', 'boom': 'FAILED', 'needs': 'SKIPPED'}
    assert 'needs params: dataset' in result.stdout
    assert result.stdout.rstrip().endswith('2 passed, 1 failed, 1 skipped')


def test_plugin_test_one_action_with_params(plugin):
    result = invoke('plugin', 'test', 'needs', '--path', str(plugin), '--params', '{"dataset": 1, "label": "x"}')
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith('1 passed, 0 failed, 0 skipped')
    lone = invoke('plugin', 'test', '--path', str(plugin), '--params', '{}')
    assert (lone.exit_code, lone.stderr) == (
        1,
        'Error: --params applies to one action: name it, e.g. `synapse plugin test train --params ...`\n',
    )


def test_update_config_without_a_config(tmp_path):
    result = invoke('plugin', 'update-config', '--path', str(tmp_path))
    assert (result.exit_code, result.stderr) == (1, f'Error: Config file not found: {tmp_path / "config.yaml"}\n')


def test_create_needs_a_name_with_yes(tmp_path):
    result = invoke('plugin', 'create', '--yes', '--path', str(tmp_path))
    assert (result.exit_code, result.stderr) == (1, 'Error: --name is required with --yes\n')


def test_create_rejects_a_bad_code(tmp_path):
    result = invoke('plugin', 'create', '--yes', '--name', 'X', '--code', 'Bad Code', '--path', str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: code: code must be a slug (lowercase letters, digits, '-' or '_'), e.g. 'my-plugin'; got 'Bad Code'\n"
    )


class FakeQuestion:
    def __init__(self, answer):
        self.answer = answer

    def ask(self):
        return self.answer


def test_create_interactively_asks_for_what_flags_left_out(tmp_path, monkeypatch):
    import questionary

    asked = []
    answers = {'Plugin name:': 'Label Helper', 'Plugin code (slug):': 'label-helper', 'Description:': 'Helps'}

    def text(message, **kwargs):
        asked.append((message, kwargs.get('default')))
        return FakeQuestion(answers[message])

    def select(message, choices, default):
        asked.append((message, default))
        assert choices == [
            'neural_net',
            'export',
            'upload',
            'smart_tool',
            'post_annotation',
            'pre_annotation',
            'data_validation',
            'custom',
        ]
        return FakeQuestion('smart_tool')

    monkeypatch.setattr(questionary, 'text', text)
    monkeypatch.setattr(questionary, 'select', select)
    result = invoke('plugin', 'create', '--path', str(tmp_path))
    assert result.exit_code == 0, result.output
    assert asked == [
        ('Plugin name:', None),
        ('Plugin code (slug):', 'label-helper'),
        ('Category:', 'custom'),
        ('Description:', ''),
    ]
    config = (tmp_path / 'synapse-label-helper-plugin' / 'config.yaml').read_text()
    assert 'category: smart_tool\n' in config and 'description: "Helps"\n' in config


def test_create_interactive_cancel_aborts(tmp_path, monkeypatch):
    import questionary

    monkeypatch.setattr(questionary, 'text', lambda message, **kw: FakeQuestion(None))
    result = invoke('plugin', 'create', '--path', str(tmp_path))
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []
