"""Strict params: unknown keys and booleans for numbers are refused before the action runs; limits on depth and size."""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from synapse_sdk.enums import LogLevel
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import BaseAction
from synapse_sdk.plugins._params_limits import check_params_shape, load_params_text
from synapse_sdk.plugins.executors import LocalExecutor
from synapse_sdk.plugins.executors.ray._target import ResolvedAction, checked_params, revealed_dump
from synapse_sdk.plugins.runner import run_plugin


class Inner(BaseModel):
    alpha: int = 1


class Closed(BaseModel):
    model_config = ConfigDict(extra='forbid')

    gamma: int = 1


class Open(BaseModel):
    model_config = ConfigDict(extra='allow')


class ToTaskLike(BaseModel):
    project: int
    dry_run: bool = False
    ratio: float | None = None
    inner: Inner = Inner()
    items: list[Inner] = []
    by_name: dict[str, Inner] = {}
    closed: Closed = Closed()
    open: Open = Open()
    size: int = Field(default=0, validation_alias='sz')


RAN: list[dict] = []


class Record(BaseAction[ToTaskLike]):
    def execute(self) -> dict:
        RAN.append(self.params.model_dump())
        return {'project': self.params.project}


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    RAN.clear()
    monkeypatch.delenv('SYNAPSE_ALLOW_UNKNOWN_PARAMS', raising=False)


def refused(params: object, **kwargs: object) -> str:
    with pytest.raises(ValidationError) as info:
        run_plugin(None, 'record', params, action_cls=Record, logger_factory=MemoryLogger, **kwargs)  # type: ignore[arg-type]
    assert RAN == []  # nothing ran
    return str(info.value)


def test_an_unknown_key_is_refused_naming_the_closest_known_one():
    assert refused({'project': 1, 'dryrun': True}) == (
        "Parameter validation failed: unknown param 'dryrun': did you mean 'dry_run'?"
    )


def test_a_typo_in_a_required_key_gets_the_same_hint_before_the_missing_field():
    assert refused({'projet': 1}) == (
        "Parameter validation failed: unknown param 'projet': did you mean 'project'?; project: Field required"
    )


def test_a_key_with_no_close_match_lists_the_known_params():
    message = refused({'project': 1, 'zzzz': 1})
    assert message == (
        "Parameter validation failed: unknown param 'zzzz'; known params: project, dry_run, ratio, inner, items, "
        'by_name, closed, open, size'
    )


def test_nested_models_lists_and_dicts_of_models_are_checked_too():
    message = refused(
        {
            'project': 1,
            'inner': {'alpah': 2},
            'items': [{'alpha': 1}, {'alhpa': 2}],
            'by_name': {'x': {'alfa': 3}},
            'closed': {'gama': 2},
            'open': {'anything': 1},  # a model that keeps extra keys: never refused
        }
    )
    assert message == (
        "Parameter validation failed: unknown param 'inner.alpah': did you mean 'alpha'?; "
        "unknown param 'items.1.alhpa': did you mean 'alpha'?; "
        "unknown param 'by_name.x.alfa': did you mean 'alpha'?; "
        "unknown param 'closed.gama': did you mean 'gamma'?"
    )


def test_aliases_are_known_keys():
    assert run_plugin(None, 'r', {'project': 1, 'sz': 3}, action_cls=Record, logger_factory=MemoryLogger) == {
        'project': 1
    }
    assert RAN[0]['size'] == 3


def test_the_opt_in_runs_and_warns_naming_every_ignored_key():
    logger = MemoryLogger()
    result = run_plugin(
        None,
        'r',
        {'project': 7, 'dryrun': True, 'inner': {'alpah': 1}},
        action_cls=Record,
        logger_factory=lambda: logger,
        allow_unknown_params=True,
    )
    assert result == {'project': 7}
    warned = [e.data['message'] for e in logger.entries if e.level is LogLevel.WARNING]
    assert warned == ["ignoring unknown params 'dryrun', 'inner.alpah' (allow_unknown_params is on)"]


def test_the_opt_in_does_not_override_a_model_that_forbids_extra_keys():
    message = refused({'project': 1, 'closed': {'gama': 1}}, allow_unknown_params=True)
    assert message == "Parameter validation failed: unknown param 'closed.gama': did you mean 'gamma'?"


def test_the_environment_variable_relaxes_where_the_caller_did_not_choose(monkeypatch):
    monkeypatch.setenv('SYNAPSE_ALLOW_UNKNOWN_PARAMS', '1')
    executor = LocalExecutor(logger_factory=MemoryLogger)
    assert executor.execute(Record, {'project': 2, 'extra': 1}) == {'project': 2}
    strict = LocalExecutor(logger_factory=MemoryLogger, allow_unknown_params=False)
    with pytest.raises(ValidationError, match=r"unknown param 'extra'"):
        strict.execute(Record, {'project': 2, 'extra': 1})


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        (
            {'project': True},
            'project: expected an integer, got the boolean true; booleans are not numbers here, pass e.g. 1',
        ),
        (
            {'project': 1, 'ratio': False},
            'ratio: expected a number, got the boolean false; booleans are not numbers here, pass e.g. 1',
        ),
        (
            {'project': 1, 'items': [{'alpha': True}]},
            'items.0.alpha: expected an integer, got the boolean true; booleans are not numbers here, pass e.g. 1',
        ),
    ],
)
def test_a_boolean_is_never_taken_for_a_number(params, message):
    assert refused(params) == f'Parameter validation failed: {message}'


def test_numbers_and_strings_of_digits_are_still_ids():
    assert run_plugin(None, 'r', {'project': 3}, action_cls=Record, logger_factory=MemoryLogger) == {'project': 3}
    assert run_plugin(None, 'r', {'project': '4'}, action_cls=Record, logger_factory=MemoryLogger) == {'project': 4}


def _nested(depth: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(depth):
        node['a'] = {}
        node = node['a']
    return root


def test_params_nested_100k_deep_are_refused_naming_the_path():
    message = refused({'project': 1, 'open': _nested(100_000)})
    path = '.'.join(['open'] + ['a'] * 63)
    assert message == (
        f"Parameter validation failed: params are nested deeper than 64 levels at '{path}'; flatten them "
        '(or raise the limit with SYNAPSE_PARAMS_MAX_DEPTH)'
    )


def test_64_levels_pass_and_the_environment_raises_the_limit(monkeypatch):
    check_params_shape(_nested(64))
    with pytest.raises(ValidationError, match=r'nested deeper than 64 levels'):
        check_params_shape(_nested(65))
    monkeypatch.setenv('SYNAPSE_PARAMS_MAX_DEPTH', '100')
    check_params_shape(_nested(100))


def test_too_many_values_are_refused():
    with pytest.raises(ValidationError, match=r'^Parameter validation failed: params hold more than 10 values'):
        check_params_shape({'items': list(range(20))}, max_items=10)


def test_json_text_100k_deep_is_refused_with_the_path_not_a_recursion_error():
    text = '{"project": 1, "open": {"list": [' + '[' * 100_000 + ']' * 100_000 + ']}}'
    started = time.perf_counter()
    with pytest.raises(ValidationError) as info:
        load_params_text(text)
    assert time.perf_counter() - started < 5
    path = '.'.join(['open', 'list'] + ['0'] * 62)
    assert str(info.value).startswith(
        f"Parameter validation failed: params are nested deeper than 64 levels at '{path}'"
    )


def test_yaml_text_deep_is_refused_with_the_path():
    text = 'project: 1\nopen:\n  x: ' + '[' * 5000 + ']' * 5000 + '\n'
    with pytest.raises(ValidationError) as info:
        load_params_text(text, 'params.yaml', fmt='yaml')
    path = '.'.join(['open', 'x'] + ['0'] * 62)
    assert str(info.value).startswith(
        f"Parameter validation failed: params are nested deeper than 64 levels at '{path}'"
    )
    assert load_params_text(textwrap.dedent('project: 1\ninner: {alpha: 2}\n'), fmt='yaml') == {
        'project': 1,
        'inner': {'alpha': 2},
    }


def test_params_text_over_the_size_limit_is_refused_before_parsing(monkeypatch):
    text = json.dumps({'blob': 'x' * (16 * 1024 * 1024)})
    with pytest.raises(ValidationError) as info:
        load_params_text(text + ' [not json')  # refused on its size: never parsed
    assert str(info.value) == (
        'Parameter validation failed: --params is 16,777,238 bytes, over the 16,777,216-byte limit; pass large '
        'data as a file path or dataset id instead (or raise the limit with SYNAPSE_PARAMS_MAX_BYTES)'
    )
    monkeypatch.setenv('SYNAPSE_PARAMS_MAX_BYTES', str(32 * 1024 * 1024))
    assert len(load_params_text(text)['blob']) == 16 * 1024 * 1024
    assert load_params_text('{"a": 1}') == {'a': 1}
    with pytest.raises(ValidationError, match=r'must be an object'):
        load_params_text('[1]')
    with pytest.raises(ValidationError, match=r'is not valid JSON: Expecting value at line 1, column 1'):
        load_params_text('nope')


class Login(BaseModel):
    user: str
    password: SecretStr


class LoginAction(BaseAction[Login]):
    def execute(self) -> str:
        return self.params.password.get_secret_value()


def test_secret_fields_ship_revealed_so_the_worker_gets_the_real_value():
    resolved = ResolvedAction('login', None, LoginAction, LoginAction)
    model = Login(user='a', password=SecretStr('pw-123456789'))
    assert checked_params(resolved, model) == {'user': 'a', 'password': 'pw-123456789'}
    assert checked_params(resolved, {'user': 'a', 'password': 'pw-123456789'}) == {
        'user': 'a',
        'password': 'pw-123456789',
    }
    assert revealed_dump(model) == {'user': 'a', 'password': 'pw-123456789'}
    with pytest.raises(ValidationError, match=r"unknown param 'pasword': did you mean 'password'\?"):
        checked_params(resolved, {'user': 'a', 'pasword': 'x'})
