"""A plugin's Ray runtime env: requirements, package manager, wheels, env vars and secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synapse_sdk.enums import PackageManager
from synapse_sdk.exceptions import ConfigError
from synapse_sdk.plugins.executors.ray._ray import auth_headers
from synapse_sdk.plugins.executors.ray._runtime_env import (
    PluginRuntime,
    forwarded_environ,
    is_secret_name,
    read_requirements,
    worker_environ,
)

CONFIG = """\
name: Demo
code: demo
package_manager: {pm}
env:
  GREETING: hello
  API_KEY: k-123456
runtime_env:
  env_vars:
    FROM_RUNTIME: '1'
  pip_check: false
actions:
  train:
    entrypoint: plugin.train:TrainAction
"""


def _plugin(tmp_path: Path, pm: str = 'pip', requirements: str | None = 'numpy>=1.26  # arrays\n\nrequests\n') -> Path:
    (tmp_path / 'config.yaml').write_text(CONFIG.format(pm=pm))
    if requirements is not None:
        (tmp_path / 'requirements.txt').write_text(requirements)
    (tmp_path / 'wheels').mkdir()
    (tmp_path / 'wheels' / 'extra-1.0-py3-none-any.whl').write_bytes(b'')
    return tmp_path


def test_requirements_are_checked_line_by_line(tmp_path):
    file = tmp_path / 'requirements.txt'
    file.write_text(
        '# deps\nnumpy>=1.26 --hash=sha256:abc\n--extra-index-url https://pypi.org/simple\n./local-1.0.whl\n'
    )
    assert read_requirements(file) == [
        'numpy>=1.26',
        '--extra-index-url https://pypi.org/simple',
        '${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/local-1.0.whl',
    ]
    assert read_requirements(tmp_path / 'missing.txt') == []


def test_bad_requirement_line_is_named_with_the_fix(tmp_path):
    file = tmp_path / 'requirements.txt'
    file.write_text('numpy\npandas==\n')
    with pytest.raises(ConfigError) as info:
        read_requirements(file)
    message = str(info.value)
    assert message.startswith("requirements.txt line 2: 'pandas==' is not a valid requirement (")
    assert message.endswith("). Fix it (e.g. 'numpy>=1.26') or remove the line")
    assert info.value.details == {'line': 2, 'text': 'pandas=='}


def test_unsupported_option_is_named(tmp_path):
    file = tmp_path / 'requirements.txt'
    file.write_text('-r other.txt\n')
    with pytest.raises(ConfigError, match=r"^requirements.txt line 1: option '-r' is not supported on Ray"):
        read_requirements(file)


def test_pip_runtime_env_merges_config_requirements_wheels_and_env(tmp_path):
    runtime = PluginRuntime.from_dir(_plugin(tmp_path))
    env = runtime.ray_runtime_env('gcs://_ray_pkg_x.zip', {'SYNAPSE_LANGUAGE': 'en'})
    assert env == {
        'env_vars': {'FROM_RUNTIME': '1', 'SYNAPSE_LANGUAGE': 'en'},
        'pip_check': False,
        'working_dir': 'gcs://_ray_pkg_x.zip',
        'pip': {
            'packages': [
                'numpy>=1.26',
                'requests',
                '${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/extra-1.0-py3-none-any.whl',
            ],
            'pip_install_options': ['--upgrade'],
        },
    }


def test_uv_package_manager_uses_ray_uv_field(tmp_path):
    runtime = PluginRuntime.from_dir(_plugin(tmp_path, pm='uv', requirements='torch\n'))
    env = runtime.ray_runtime_env(None, {})
    assert env['uv'] == {
        'packages': ['torch', '${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/extra-1.0-py3-none-any.whl'],
        'uv_pip_install_options': ['--no-cache'],
    }
    assert runtime.package_manager is PackageManager.UV and 'pip' not in env


def test_worker_environ_keeps_secrets_out_of_public_variables(tmp_path):
    environ = {
        'SYNAPSE_HOST': 'https://api.example.com/',
        'SYNAPSE_ACCESS_TOKEN': 'tok-abcdef123',
        'SYNAPSE_AGENT_TOKEN': 'agent-abcdef',
        'RAY_ADDRESS': 'http://127.0.0.1:8265',
        'RAY_AUTH_MODE': 'token',
        'SYNAPSE_ACTION_PARAMS': '{"stale": true}',
        'HOME': '/home/me',
    }
    runtime = PluginRuntime.from_dir(_plugin(tmp_path))
    public, secret = worker_environ(runtime, {'EXTRA': 'x'}, job_id=7, language='ko', environ=environ)
    assert secret == {
        'SYNAPSE_ACCESS_TOKEN': 'tok-abcdef123',
        'SYNAPSE_AGENT_TOKEN': 'agent-abcdef',
        'API_KEY': 'k-123456',
    }
    assert public == {
        'SYNAPSE_HOST': 'https://api.example.com/',
        'RAY_AUTH_MODE': 'token',
        'GREETING': 'hello',
        'EXTRA': 'x',
        'SYNAPSE_PLUGIN_ENV_KEYS': json.dumps(['API_KEY', 'EXTRA', 'GREETING']),
        'SYNAPSE_JOB_ID': '7',
        'SYNAPSE_LANGUAGE': 'ko',
    }


def test_credentials_from_the_config_file_are_forwarded(monkeypatch, tmp_path):
    config_dir = tmp_path / 'cfg'
    config_dir.mkdir()
    (config_dir / 'config.json').write_text(json.dumps({'host': 'https://h.example/', 'access_token': 'file-token-1'}))
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(config_dir))
    forwarded = forwarded_environ({'SYNAPSE_CONFIG_DIR': str(config_dir)})
    assert forwarded == {
        'SYNAPSE_CONFIG_DIR': str(config_dir),
        'SYNAPSE_HOST': 'https://h.example/',
        'SYNAPSE_ACCESS_TOKEN': 'file-token-1',
    }


@pytest.mark.parametrize(
    ('name', 'secret'),
    [('SYNAPSE_ACCESS_TOKEN', True), ('SYNAPSE_PLUGIN_RUN_USER_TOKEN', True), ('AWS_SECRET_ACCESS_KEY', True),
     ('DB_PASSWORD', True), ('OPENAI_API_KEY', True), ('SYNAPSE_HOST', False), ('SYNAPSE_PLUGIN_ENV_KEYS', False),
     ('GREETING', False)],
)  # fmt: skip
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_action_key_lookup_names_the_available_actions(tmp_path):
    from synapse_sdk.exceptions import ActionNotFoundError

    runtime = PluginRuntime.from_dir(_plugin(tmp_path))
    assert runtime.entrypoint_for('train') == 'plugin.train.TrainAction'
    with pytest.raises(ActionNotFoundError, match=rf"^Action 'nope' not found in {tmp_path / 'config.yaml'}$") as info:
        runtime.entrypoint_for('nope')
    assert info.value.details == {'available': ['train']}


def test_ray_token_header_for_both_auth_modes(tmp_path):
    token_file = tmp_path / 'auth_token'
    token_file.write_text('ray-token-xyz\n')
    assert auth_headers({'RAY_AUTH_TOKEN_PATH': str(token_file)}) == {'Authorization': 'Bearer ray-token-xyz'}
    assert auth_headers({'RAY_AUTH_TOKEN': 'env-token'}) == {'Authorization': 'Bearer env-token'}
    assert auth_headers({'RAY_AUTH_TOKEN': 'env-token', 'RAY_AUTH_MODE': 'disabled'}) == {}
    assert auth_headers({'RAY_AUTH_TOKEN_PATH': str(tmp_path / 'missing')}) == {}
