"""run_plugin at its edges: sys.exit in plugin code, unknown params, files that are not UTF-8, warning sites."""

import textwrap
import warnings

import pytest

from synapse_sdk.enums import LogLevel
from synapse_sdk.exceptions import ActionDefinitionError, ConfigError, ConfigWarning, ExecutionError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.config import load_config
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.runner import run_plugin

ACTIONS = """
import sys

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from synapse_sdk.plugins import action


class GreetParams(BaseModel):
    name: str = 'world'
    loud: bool = Field(default=False, validation_alias=AliasChoices('loud', 'shout'))


@action(params=GreetParams)
def greet(params, ctx):
    return f'Hello {params.name}!'


class OpenParams(BaseModel):
    model_config = ConfigDict(extra='allow')

    name: str = 'x'


@action(params=OpenParams)
def open_params(params, ctx):
    return params.model_dump()


class StrictParams(BaseModel):
    model_config = ConfigDict(extra='forbid')

    name: str = 'x'


@action(params=StrictParams)
def strict(params, ctx):
    return params.name


@action
def untyped(params, ctx):
    return params


@action
def leaves(params, ctx):
    sys.exit(4)
"""

CONFIG = """
name: Edges
code: edges
actions:
  greet: {entrypoint: plugin.actions:greet}
  open: {entrypoint: plugin.actions:open_params}
  strict: {entrypoint: plugin.actions:strict}
  untyped: {entrypoint: plugin.actions:untyped}
  leaves: {entrypoint: plugin.actions:leaves}
  exits_on_import: {entrypoint: plugin.exits:Anything}
"""


@pytest.fixture
def plugin(tmp_path):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(ACTIONS)
    (tmp_path / 'plugin' / 'exits.py').write_text('raise SystemExit(3)\n')
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    return tmp_path


def run(plugin, action, params):
    logger = MemoryLogger()
    result = run_plugin(str(plugin), action, params, logger_factory=lambda: logger)
    warned = [e.data['message'] for e in logger.entries if e.level is LogLevel.WARNING]
    return result, warned


def test_sys_exit_in_an_action_is_an_execution_error(plugin):
    with pytest.raises(ExecutionError) as info:
        run_plugin(str(plugin), 'leaves', {}, logger_factory=MemoryLogger)
    assert str(info.value) == (
        'Action execution failed: the action called sys.exit(4); raise an exception to report a failure'
    )
    assert info.value.details == {'action': 'leaves', 'exception': 'SystemExit'}
    assert isinstance(info.value.__cause__, SystemExit)


def test_sys_exit_while_importing_an_entrypoint_is_a_definition_error(plugin):
    with pytest.raises(ActionDefinitionError) as info:
        PluginDiscovery.from_path(plugin).get_action_class('exits_on_import')
    assert str(info.value) == (
        "Cannot import module 'plugin.exits' for entrypoint 'plugin.exits.Anything' of action 'exits_on_import': "
        'it called sys.exit(3) while being imported; raise an exception instead'
    )


def test_unknown_params_are_refused_with_the_closest_field(plugin):
    message = (
        "Parameter validation failed: unknown param 'nam': did you mean 'name'?; unknown param 'zzzz'; "
        'known params: name, loud'
    )
    with pytest.raises(ValueError) as info:
        run(plugin, 'greet', {'nam': 'Ada', 'shout': True, 'zzzz': 1})
    assert str(info.value) == message
    assert run(plugin, 'greet', {'name': 'Ada', 'loud': True}) == ('Hello Ada!', [])


def test_models_that_keep_extra_keys_are_not_warned_about(plugin):
    assert run(plugin, 'open', {'nam': 'kept'}) == ({'name': 'x', 'nam': 'kept'}, [])
    assert run(plugin, 'untyped', {'anything': 1}) == ({'anything': 1}, [])


def test_models_that_forbid_extra_keys_fail_validation(plugin):
    with pytest.raises(ValueError, match=r"^Parameter validation failed: unknown param 'nam': did you mean 'name'\?"):
        run(plugin, 'strict', {'nam': 'x'})


def test_a_config_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / 'config.yaml').write_bytes('name: Caf\u00e9\ncode: cafe\n'.encode('latin-1'))
    with pytest.raises(ConfigError) as info:
        run_plugin(str(tmp_path), 'x', {})
    assert str(info.value) == (
        f'{tmp_path / "config.yaml"}: not UTF-8 text (byte 0xe9 at offset 9); save the file as UTF-8'
    )


def test_source_in_another_encoding_is_read_by_its_coding_cookie(tmp_path):
    (tmp_path / 'plugin').mkdir()
    source = '# -*- coding: latin-1 -*-\nfrom synapse_sdk.plugins import action\n\n\n@action\ndef greet(p, c):\n'
    (tmp_path / 'plugin' / 'actions.py').write_bytes((source + "    return 'caf\u00e9'\n").encode('latin-1'))
    assert PluginDiscovery.discover_actions(tmp_path) == {
        'greet': {'entrypoint': 'plugin.actions.greet', 'input_type': None, 'output_type': None}
    }
    (tmp_path / 'plugin' / 'actions.py').write_bytes(b"x = '\xe9'\n")
    with pytest.raises(
        ActionDefinitionError, match=r"actions.py: line 1: cannot parse: \(unicode error\) 'utf-8' codec"
    ):
        PluginDiscovery.discover_actions(tmp_path)


def test_config_warnings_point_at_the_callers_line(tmp_path):
    (tmp_path / 'config.yaml').write_text('name: X\ncode: x\nversion: 1\nmethdo: job\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        load_config(tmp_path)
    assert [(w.category, str(w.message), w.filename) for w in caught] == [
        (FutureWarning, "config.yaml: version '1' is not X.Y.Z (semantic versioning); it is accepted as is", __file__),
        (ConfigWarning, "config.yaml: unknown key 'methdo'; closest known key: 'name'", __file__),
    ]
