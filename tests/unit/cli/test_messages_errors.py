"""What `synapse plugin` prints when an action raises, is unknown, has no backend, or returns a bad result."""

import logging
import re
import textwrap

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ActionNotFoundError
from synapse_sdk.plugins.runner import run_plugin

runner = CliRunner()
HINT = 'run again with --debug for the full traceback'
NO_BACKEND = (
    'needs a backend client, but none is configured. Run `synapse login` or set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN'
)

CONFIG = """
name: Messages
code: messages
actions:
  divide:
    entrypoint: plugin.actions:divide
  parse:
    entrypoint: plugin.actions:parse
  bad_result:
    entrypoint: plugin.actions:BadResult
  to_task:
    entrypoint: plugin.annotate:Annotate
  train:
    entrypoint: plugin.actions:Train
"""

ACTIONS = """
import json

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, BaseTrainAction, action


def ratio(total, count):
    return total / count


@action
def divide(params, ctx):
    return {'ratio': ratio(1, 0)}


@action
def parse(params, ctx):
    return json.loads('{not json')


class Empty(BaseModel):
    pass


class Count(BaseModel):
    count: int


class BadResult(BaseAction[Empty]):
    result_model = Count

    def execute(self):
        return {'count': 'many'}


class TrainParams(BaseModel):
    dataset: int = 1


class Train(BaseTrainAction[TrainParams]):
    def execute(self):
        return {'dataset': self.get_dataset()}
"""

ANNOTATE = """
from synapse_sdk.plugins.actions.to_task import ToTaskAction


class Annotate(ToTaskAction):
    action_name = 'to_task'

    def convert_data_from_file(
        self, primary_file_url, primary_file_name, data_file_url, data_file_name, task_data=None
    ):
        return self.download_json(data_file_url)
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(ACTIONS)
    (tmp_path / 'plugin' / 'annotate.py').write_text(ANNOTATE)
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def line_of(path, text):
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_an_action_that_raises_names_the_plugin_line_and_the_debug_hint(plugin):
    result = runner.invoke(app, ['plugin', 'run', 'divide'])
    line = line_of(plugin / 'plugin' / 'actions.py', 'return total / count')
    assert (result.exit_code, result.stdout) == (1, '')
    assert result.stderr == (
        f'Error: Action execution failed: division by zero (plugin/actions.py:{line}, in ratio); {HINT}\n'
    )


def test_the_line_is_the_plugins_own_even_when_the_error_is_raised_inside_the_standard_library(plugin):
    result = runner.invoke(app, ['plugin', 'run', 'parse'])
    line = line_of(plugin / 'plugin' / 'actions.py', "json.loads('{not json')")
    assert result.exit_code == 1
    assert result.stderr.endswith(f'(plugin/actions.py:{line}, in parse); {HINT}\n')
    assert 'json/decoder.py' not in result.stderr


def test_outside_the_plugin_folder_the_file_is_shown_in_full(plugin, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp('elsewhere'))
    result = runner.invoke(app, ['plugin', 'run', 'divide', '--path', str(plugin)])
    assert f'({plugin / "plugin" / "actions.py"}:' in result.stderr


@pytest.mark.parametrize('where', ['before', 'after'])
def test_debug_prints_the_full_traceback_down_to_the_plugin_frame(plugin, where):
    args = ['--debug', 'plugin', 'run', 'divide'] if where == 'before' else ['plugin', 'run', 'divide', '--debug']
    result = runner.invoke(app, args, env={'COLUMNS': '300'})
    assert result.exit_code == 1
    flat = result.stderr
    assert 'ZeroDivisionError' in flat and 'in ratio' in flat and 'actions.py' in flat
    assert 'The above exception was the direct cause of the following exception' in flat
    assert flat.rstrip().endswith('Error: Action execution failed: division by zero')
    assert HINT not in flat


def test_plugin_test_names_the_line_in_its_report(plugin):
    result = runner.invoke(app, ['plugin', 'test', 'divide'], env={'COLUMNS': '250'})
    line = line_of(plugin / 'plugin' / 'actions.py', 'return total / count')
    assert result.exit_code == 1
    assert re.search(
        rf'Action execution failed: division by zero \(plugin/actions\.py:{line}, in ratio\)', result.stdout
    )


def test_the_unknown_action_error_itself_lists_the_available_actions(plugin):
    with pytest.raises(
        ActionNotFoundError,
        match=r"^Action 'nope' not found; available actions: divide, parse, bad_result, to_task, train$",
    ) as info:
        run_plugin(str(plugin), 'nope', {})
    assert info.value.details == {
        'available': ['divide', 'parse', 'bad_result', 'to_task', 'train'],
        'plugin': 'messages',
    }
    cli = runner.invoke(app, ['plugin', 'run', 'nope'])
    assert cli.stderr == f'Error: {info.value}\n'


def test_to_task_without_a_token_gives_the_message_train_gives(plugin, monkeypatch):
    monkeypatch.setenv('SYNAPSE_HOST', 'https://backend.example.invalid')
    params = '{"name": "x", "project": 1, "agent": 1, "target_specification_name": "annotation_data"}'
    to_task = runner.invoke(app, ['plugin', 'run', 'to_task', '--params', params])
    train = runner.invoke(app, ['plugin', 'run', 'train'])
    assert to_task.stderr == f"Error: Step 'initialize' failed: ToTask {NO_BACKEND}; {HINT}\n"
    line = line_of(plugin / 'plugin' / 'actions.py', "return {'dataset': self.get_dataset()}")
    assert train.stderr == f'Error: get_dataset() {NO_BACKEND} (plugin/actions.py:{line}, in execute); {HINT}\n'


@pytest.fixture
def bare_logging(monkeypatch):
    """Call inside the test: logging as in the `synapse` process, with no handler anywhere (pytest adds its own
    to the root logger for the test's call), so logging's last resort would print a record."""

    def bare():
        monkeypatch.setattr(logging.getLogger(), 'handlers', [])
        monkeypatch.setattr(logging.getLogger('synapse_sdk'), 'handlers', [])

    return bare


WARNING = 'Result validation warning for Count: count: Input should be a valid integer'


def test_a_result_validation_warning_prints_once_with_run(plugin, bare_logging):
    bare_logging()
    result = runner.invoke(app, ['plugin', 'run', 'bad_result'])
    assert result.exit_code == 0, result.output
    assert result.stderr.count(WARNING) == 1, result.stderr
    assert result.stdout.strip() == '{\n  "count": "many"\n}'


def test_a_result_validation_warning_prints_once_with_test(plugin, bare_logging):
    bare_logging()
    result = runner.invoke(app, ['plugin', 'test', 'bad_result'])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if WARNING in line] == [
        f'Warning: {WARNING}, unable to parse string as an integer'
    ]


def test_configured_logging_gets_the_warning_and_the_cli_adds_no_second_handler(plugin, caplog):
    with caplog.at_level(logging.WARNING, logger='synapse_sdk'):
        result = runner.invoke(app, ['plugin', 'run', 'bad_result'])
    assert [r.getMessage() for r in caplog.records if WARNING in r.getMessage()] == [
        f'{WARNING}, unable to parse string as an integer'
    ]
    assert result.stderr.count(WARNING) == 1
    assert logging.getLogger('synapse_sdk').handlers == []


def test_echoes_drop_only_the_twin_from_the_other_channel():
    from synapse_sdk.cli.errors import Echoes

    echoes = Echoes()
    assert echoes.first('w', 'log') and not echoes.first('w', 'run')
    assert echoes.first('w', 'run') and echoes.first('w', 'run')  # repeats down one channel all print
    assert [echoes.first('w', 'log') for _ in range(3)] == [False, False, True]
    for i in range(Echoes.WINDOW + 1):
        echoes.first(f'n{i}', 'run')
    assert echoes.first('n0', 'log')  # forgotten past the window: printed, never silently dropped
