"""`synapse plugin` on bad input: one line per problem, the right exit code, `--debug` anywhere."""

import json
import textwrap

import pytest
import yaml
from typer.testing import CliRunner

from synapse_sdk.cli import app

runner = CliRunner()

ACTIONS = """
import sys

from pydantic import BaseModel

from synapse_sdk.plugins import action


class HelloParams(BaseModel):
    name: str = 'world'


@action(params=HelloParams)
def hello(params, ctx):
    return {'message': f'Hello {params.name}!'}


@action
def leaves(params, ctx):
    sys.exit(4)


@action
def interrupted(params, ctx):
    raise KeyboardInterrupt


class Helper:
    pass
"""

CONFIG = """
name: Edges
code: edges
actions:
  greet:
    entrypoint: plugin.hello:hello
  leaves:
    entrypoint: plugin.hello:leaves
  interrupted:
    entrypoint: plugin.hello:interrupted
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'hello.py').write_text(ACTIONS)
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args):
    return runner.invoke(app, ['plugin', *args])


def test_missing_required_fields_are_named(plugin):
    (plugin / 'config.yaml').write_text('description: no name, no code\nactions: {}\n')
    result = invoke('run', 'greet')
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        '',
        "Error: config.yaml: missing required field 'name'; missing required field 'code'\n",
    )


def test_an_entrypoint_that_is_not_an_action(plugin):
    (plugin / 'config.yaml').write_text(
        'name: Edges\ncode: edges\nactions:\n  helper:\n    entrypoint: plugin.hello:Helper\n'
    )
    result = invoke('run', 'helper')
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: Entrypoint 'plugin.hello.Helper' of action 'helper' is not an action: class Helper does not "
        'subclass BaseAction. Point it at a BaseAction subclass or an @action function\n',
    )


def test_debug_after_the_command_shows_the_traceback_of_an_unknown_action(plugin):
    result = invoke('run', 'nope', '--debug')
    assert result.exit_code == 1
    assert 'Traceback' in result.stderr and 'ActionNotFoundError' in result.stderr
    assert result.stderr.endswith("Error: Action 'nope' not found; available actions: greet, leaves, interrupted\n")
    plain = invoke('run', 'nope')
    assert plain.stderr == "Error: Action 'nope' not found; available actions: greet, leaves, interrupted\n"


def test_sys_exit_in_an_action_is_a_one_line_error(plugin):
    result = invoke('run', 'leaves')
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: Action execution failed: the action called sys.exit(4); raise an exception to report a failure '
        '(plugin/hello.py:20, in leaves); run again with --debug for the full traceback\n',
    )


def test_ctrl_c_exits_130_with_one_line(plugin):
    result = invoke('run', 'interrupted')
    assert (result.exit_code, result.stdout, result.stderr) == (130, '', 'Interrupted\n')


def test_unknown_params_are_refused_before_the_run(plugin):
    result = invoke('run', 'greet', '--params', '{"nam": "Ada"}')
    assert (result.exit_code, result.stdout) == (1, '')
    assert result.stderr == "Error: Parameter validation failed: unknown param 'nam': did you mean 'name'?\n"


def test_unknown_params_run_with_the_explicit_opt_in(plugin):
    result = invoke('run', 'greet', '--params', '{"nam": "Ada"}', '--allow-unknown-params')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {'message': 'Hello world!'}
    assert "ignoring unknown param 'nam' (allow_unknown_params is on)" in result.stderr


def test_a_params_file_that_is_not_utf8_is_named(plugin):
    (plugin / 'p.json').write_bytes('{"name": "Caf\u00e9"}'.encode('latin-1'))
    result = invoke('run', 'greet', '--params', '@p.json')
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: p.json is not UTF-8 text (byte 0xe9 at offset 13); save it as UTF-8\n',
    )


@pytest.mark.filterwarnings('default::synapse_sdk.exceptions.ConfigWarning', 'default::FutureWarning')
def test_config_warnings_print_as_one_line_each(plugin):
    text = (plugin / 'config.yaml').read_text()
    (plugin / 'config.yaml').write_text(
        text.replace('code: edges\n', 'code: edges\nversion: 1\n').replace(
            '    entrypoint: plugin.hello:hello\n', '    entrypoint: plugin.hello:hello\n    methdo: job\n'
        )
    )
    result = invoke('run', 'greet')
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:2] == [
        "Warning: config.yaml: version '1' is not X.Y.Z (semantic versioning); it is accepted as is",
        "Warning: config.yaml: unknown key 'actions.greet.methdo'; closest known key: 'method'",
    ]


def test_update_config_renamed_key_is_not_duplicated_and_new_actions_are_added(plugin):
    (plugin / 'plugin' / 'train.py').write_text(
        'from pydantic import BaseModel\nfrom synapse_sdk.plugins import BaseAction\n'
        'from synapse_sdk.plugins.types import ModelWeights\n\n\nclass P(BaseModel):\n    n: int = 1\n\n\n'
        'class TrainAction(BaseAction[P]):\n    output_type = ModelWeights\n\n'
        '    def execute(self):\n        return 1\n'
    )
    result = invoke('update-config')
    assert (result.exit_code, result.stderr) == (0, '')
    assert result.stdout == ("Updated config.yaml:\n  - added action 'train' (plugin.train.TrainAction)\n")
    data = yaml.safe_load((plugin / 'config.yaml').read_text())
    assert data['actions'] == {
        'greet': {'entrypoint': 'plugin.hello:hello'},
        'leaves': {'entrypoint': 'plugin.hello:leaves'},
        'interrupted': {'entrypoint': 'plugin.hello:interrupted'},
        'train': {'entrypoint': 'plugin.train.TrainAction', 'method': 'job', 'output_type': 'model_weights'},
    }
    again = invoke('update-config')
    assert (again.exit_code, again.stdout) == (0, 'config.yaml is up to date\n')


def test_update_config_refuses_an_action_given_as_a_string(plugin):
    (plugin / 'config.yaml').write_text('name: Edges\ncode: edges\nactions:\n  hello: "plugin.hello:hello"\n')
    result = invoke('update-config')
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: config.yaml: line 4: actions.hello: must be a mapping of keys to values, got a string '
        "'plugin.hello:hello' (e.g. 'entrypoint: plugin.module:Name')\n",
    )
    assert (plugin / 'config.yaml').read_text() == 'name: Edges\ncode: edges\nactions:\n  hello: "plugin.hello:hello"\n'


def test_update_config_reports_a_key_taken_by_another_action(plugin):
    (plugin / 'config.yaml').write_text(
        'name: Edges\ncode: edges\nactions:\n  leaves:\n    entrypoint: plugin.hello:hello\n'
    )
    result = invoke('update-config')
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Updated config.yaml:\n  - added action 'interrupted' (plugin.hello.interrupted)\n")
    assert result.stderr == (
        "Warning: action 'leaves' (plugin.hello.leaves) not added: key 'leaves' is taken by plugin.hello.hello\n"
    )
