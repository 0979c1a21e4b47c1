"""Strict params from the CLI: `plugin run` and `plugin serve` refuse unknown keys before anything runs."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app

ACTIONS = """
from pydantic import BaseModel

from synapse_sdk.plugins import action
from synapse_sdk.plugins.actions.inference.deployment import BaseDeploymentAction, DeploymentParams


class ToTaskParams(BaseModel):
    project: int
    overwrite: bool = False


@action(params=ToTaskParams)
def to_task(params, ctx):
    with open('ran.txt', 'w') as out:
        out.write(str(params.project))
    return {'project': params.project}


class Deploy(BaseDeploymentAction[DeploymentParams]):
    pass
"""

CONFIG = """
name: Strict
code: strict
actions:
  to_task: {entrypoint: plugin.actions:to_task}
  deployment: {entrypoint: plugin.actions:Deploy, method: job}
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(ACTIONS)
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv('SYNAPSE_ALLOW_UNKNOWN_PARAMS', raising=False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, ['plugin', *args])


def test_run_refuses_a_param_that_does_not_exist_and_nothing_runs(plugin):
    result = invoke('run', 'to_task', '--params', '{"project": 1, "dry_run": true}')
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Error: Parameter validation failed: unknown param 'dry_run'; known params: project, overwrite\n"
    )
    assert not (plugin / 'ran.txt').exists()


def test_run_refuses_a_boolean_project(plugin):
    result = invoke('run', 'to_task', '--params', '{"project": true}')
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: Parameter validation failed: project: expected an integer, got the boolean true; '
        'booleans are not numbers here, pass e.g. 1\n',
    )
    assert not (plugin / 'ran.txt').exists()


def test_the_environment_opt_in_runs_with_a_warning(plugin, monkeypatch):
    monkeypatch.setenv('SYNAPSE_ALLOW_UNKNOWN_PARAMS', '1')
    result = invoke('run', 'to_task', '--params', '{"project": 5, "overwite": true}')
    assert result.exit_code == 0, result.output
    assert "ignoring unknown param 'overwite' (allow_unknown_params is on)" in result.stderr
    assert (plugin / 'ran.txt').read_text() == '5'


def test_serve_refuses_unknown_deployment_params_before_contacting_ray(plugin):
    result = invoke('serve', '--params', '{"num_cpu": 1}', '--ray-address', 'http://127.0.0.1:9')
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: Parameter validation failed: unknown param 'num_cpu': did you mean 'num_cpus'?\n",
    )
