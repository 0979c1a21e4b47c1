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


LOOKALIKES = {'text': 'token=abc', 'hex': '0123456789abcdef' * 4, 'bearer': 'Bearer abcdefgh12345678'}


def test_credentials_package_is_read_deleted_and_masked_in_the_result(tmp_path, capsys, monkeypatch):
    import hashlib

    from synapse_sdk.plugins.executors.ray._packaging import secrets_module

    token = 'tok-package-123456789'
    name, folder = secrets_module({'SYNAPSE_ACCESS_TOKEN': token}, tmp_path)
    monkeypatch.syspath_prepend(str(folder.parent))  # where Ray puts a py_modules package
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'replaced-by-the-package')
    monkeypatch.setenv('SYNAPSE_SECRETS_MODULE', name)
    monkeypatch.setenv('SYNAPSE_ACTION_ENTRYPOINT', 'plugin.actions.credentials')
    monkeypatch.setenv('SYNAPSE_ACTION_PARAMS', json.dumps({'echo': LOOKALIKES}))
    assert main() == 0
    out = capsys.readouterr().out
    assert token not in out
    assert _records(out)[0] == {
        'child_secrets_on_path': None,
        'token_sha256': hashlib.sha256(token.encode()).hexdigest(),
        'host': None,
        'params_in_env': True,
        'token': '***',  # the run's own token, masked where it literally occurs
        'secrets_on_path': [],  # gone before the action ran
        'echo': LOOKALIKES,  # everything else exactly as returned
    }
    assert not folder.exists()


def test_a_missing_or_foreign_credentials_package_is_an_error_record(tmp_path, capsys, monkeypatch):
    from synapse_sdk.plugins.executors.ray._packaging import secrets_module

    name, folder = secrets_module({'SYNAPSE_ACCESS_TOKEN': 'tok-foreign-123456'}, tmp_path)
    monkeypatch.syspath_prepend(str(folder.parent))
    foreign = folder.parent / '_synapse_run_other'
    folder.rename(foreign)
    env = {'SYNAPSE_ACTION_ENTRYPOINT': 'plugin.actions.add', 'SYNAPSE_SECRETS_MODULE': '_synapse_run_other'}
    assert main(env) == 1
    assert _records(capsys.readouterr().out)[1]['message'] == (
        'Cannot read the run credentials _synapse_run_other: ValueError'
    )
    assert main({**env, 'SYNAPSE_SECRETS_MODULE': name}) == 1
    assert _records(capsys.readouterr().out)[1]['message'] == (
        f'The run credentials package {name} is not on sys.path; was the job submitted by the SDK?'
    )


def test_the_credentials_package_leaves_the_runtime_env_tasks_inherit(monkeypatch):
    import json as _json
    import os

    from synapse_sdk.plugins.entrypoint import _keep_from_children

    config = {
        'runtime_env': {'py_modules': ['gcs://_ray_pkg_sdk.zip', 'gcs://_ray_pkg_abc123.zip'], 'working_dir': 'x'},
        'metadata': {'synapse_action': 'a'},
    }
    monkeypatch.setenv('RAY_JOB_CONFIG_JSON_ENV_VAR', _json.dumps(config))
    _keep_from_children('_ray_pkg_abc123')
    assert _json.loads(os.environ['RAY_JOB_CONFIG_JSON_ENV_VAR']) == {
        'runtime_env': {'py_modules': ['gcs://_ray_pkg_sdk.zip'], 'working_dir': 'x'},
        'metadata': {'synapse_action': 'a'},
    }
    _keep_from_children('_ray_pkg_sdk')  # the last module: the key goes
    assert _json.loads(os.environ['RAY_JOB_CONFIG_JSON_ENV_VAR'])['runtime_env'] == {'working_dir': 'x'}
    monkeypatch.setenv('RAY_JOB_CONFIG_JSON_ENV_VAR', 'not json')
    _keep_from_children('_ray_pkg_abc123')  # not Ray's: left alone
    assert os.environ['RAY_JOB_CONFIG_JSON_ENV_VAR'] == 'not json'
