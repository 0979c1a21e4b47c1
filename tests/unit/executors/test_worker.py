"""The job worker (`python -m synapse_sdk.plugins.entrypoint`), run in-process with a given environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synapse_sdk.plugins.entrypoint import main, result_payload
from synapse_sdk.plugins.executors.ray.job import _framed

SAMPLE = Path(__file__).resolve().parents[2] / 'integration' / 'ray' / 'plugins' / 'sample'


@pytest.fixture(autouse=True)
def _in_plugin(monkeypatch):
    monkeypatch.chdir(SAMPLE)


def _records(text: str) -> tuple[dict | None, dict | None]:
    return (
        _framed(text, '__SYNAPSE_RESULT_START__', '__SYNAPSE_RESULT_END__'),
        _framed(text, '__SYNAPSE_ERROR_START__', '__SYNAPSE_ERROR_END__'),
    )


def test_runs_the_entrypoint_and_prints_one_result_record(capsys):
    env = {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.add', 'SYNAPSE_ACTION_PARAMS': '{"a": 1, "b": 2}'}
    assert main(env) == 0
    out = capsys.readouterr().out
    assert out.endswith('\n__SYNAPSE_RESULT_START__{"sum":3}__SYNAPSE_RESULT_END__\n')
    assert _records(out) == ({'sum': 3}, None)


def test_class_result_model_is_dumped_and_plugin_env_reaches_ctx(capsys):
    env = {
        'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions:EchoAction',
        'SYNAPSE_ACTION_PARAMS': '{"text": "a"}',
        'SYNAPSE_PLUGIN_ENV_KEYS': '["GREETING"]',
        'GREETING': 'hi there',
    }
    assert main(env) == 0
    result, _ = _records(capsys.readouterr().out)
    assert result == {'text': 'a', 'greeting': 'hi there', 'pid': result['pid']}


def test_params_file_and_secrets_file(tmp_path, capsys, monkeypatch):
    (tmp_path / 'p.json').write_text(json.dumps({'blob': 'y' * 50}))
    (tmp_path / 's.json').write_text(json.dumps({'SYNAPSE_ACCESS_TOKEN': 'tok-secret-999'}))
    monkeypatch.delenv('SYNAPSE_ACCESS_TOKEN', raising=False)
    env = {
        'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.blob',
        'SYNAPSE_ACTION_PARAMS_FILE': str(tmp_path / 'p.json'),
        'SYNAPSE_SECRETS_FILE': str(tmp_path / 's.json'),
    }
    assert main(env) == 0
    assert _records(capsys.readouterr().out)[0] == {'length': 50, 'params_file': None}
    assert env['SYNAPSE_ACCESS_TOKEN'] == 'tok-secret-999'


def test_failure_prints_an_error_record_and_exits_1(capsys):
    env = {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.fail', 'SYNAPSE_ACTION_PARAMS': '{"why": "token=abc12345678"}'}
    assert main(env) == 1
    captured = capsys.readouterr()
    assert _records(captured.out) == (
        None,
        {
            'type': 'ExecutionError',
            'message': 'Action execution failed: kaboom: token=***',
            'synapse': True,
            'details': {'action': 'fail', 'exception': 'ValueError'},
        },
    )
    assert captured.err == 'Error: ExecutionError: Action execution failed: kaboom: token=***\n'


@pytest.mark.parametrize(
    ('env', 'message'),
    [
        ({}, 'SYNAPSE_ACTION_ENTRYPOINT is not set: the worker does not know which action to run'),
        (
            {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.add', 'SYNAPSE_ACTION_PARAMS': '[1]'},
            'The action params in SYNAPSE_ACTION_PARAMS must be a JSON object, got list',
        ),
        (
            {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.add', 'SYNAPSE_ACTION_PARAMS': '{"a": 1}'},
            'Parameter validation failed: b: Field required',
        ),
        (
            {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.nope'},
            "Entrypoint 'plugin.actions.nope': module 'plugin.actions' has no attribute 'nope'",
        ),
    ],
)
def test_bad_runs_are_explained(env, message, capsys):
    assert main(env) == 1
    assert _records(capsys.readouterr().out)[1]['message'] == message


def test_result_payload_shapes():
    from pydantic import BaseModel

    class R(BaseModel):
        x: int

    assert result_payload(R(x=1)) == {'x': 1}
    assert result_payload({'a': Path('/p')}) == {'a': '/p'}
    assert result_payload(5) == {'result': 5}
    assert result_payload(None) == {'result': None}
