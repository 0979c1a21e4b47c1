"""`synapse plugin job get|logs|stop` against a real local cluster."""

from __future__ import annotations

import pytest
from ray_harness import SAMPLE
from typer.testing import CliRunner

from synapse_sdk.cli.app import app
from synapse_sdk.plugins.executors.ray import RayJobExecutor

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]


def test_job_commands_show_status_logs_and_stop(ray_cluster):
    executor = RayJobExecutor(ray_cluster.dashboard_url, SAMPLE)
    done = executor.submit('add', {'a': 2, 'b': 3})
    executor.wait(done, timeout_seconds=60)
    runner = CliRunner()
    url = ['--dashboard-url', ray_cluster.dashboard_url]

    got = runner.invoke(app, ['plugin', 'job', 'get', done, *url])
    assert got.exit_code == 0, got.output
    assert [line.split() for line in got.output.splitlines()][:3] == [
        ['job', done],
        ['status', 'SUCCEEDED'],
        ['message', 'Job', 'finished', 'successfully.'],
    ]

    logs = runner.invoke(app, ['plugin', 'job', 'logs', done, *url])
    assert logs.exit_code == 0 and '__SYNAPSE_RESULT_START__{"sum":5}__SYNAPSE_RESULT_END__' in logs.output

    followed = runner.invoke(app, ['plugin', 'job', 'logs', '-f', done, *url])
    assert followed.exit_code == 0 and 'adding 2 and 3' in followed.output

    slow = executor.submit('sleep', {'seconds': 60})
    stopped = runner.invoke(app, ['plugin', 'job', 'stop', slow, *url])
    assert (stopped.exit_code, stopped.output) == (0, f'Stopping job {slow}\n')

    missing = runner.invoke(app, ['plugin', 'job', 'get', 'raysubmit_nope', *url])
    assert missing.exit_code == 1
    assert "Error: Ray Jobs API get_job_info('raysubmit_nope') failed" in missing.output


def test_plugin_run_on_ray_from_the_cli(ray_cluster):
    import json

    runner = CliRunner()
    params = ['--params', '{"a": 1, "b": 2}', '--path', str(SAMPLE)]
    task = runner.invoke(
        app, ['plugin', 'run', 'add', *params, '--mode', 'task', '--ray-address', ray_cluster.gcs_address]
    )
    assert task.exit_code == 0, task.output
    assert json.loads(task.stdout) == {'sum': 3}  # the actor's messages go to stderr

    job = runner.invoke(
        app, ['plugin', 'run', 'add', *params, '--mode', 'job', '--ray-address', ray_cluster.dashboard_url]
    )
    assert job.exit_code == 0, job.output
    job_id = json.loads(job.output)
    assert RayJobExecutor(ray_cluster.dashboard_url, SAMPLE).wait(job_id, timeout_seconds=60) == {'sum': 3}

    local = runner.invoke(app, ['plugin', 'run', 'add', *params, '--ray-address', 'auto'])
    assert local.exit_code == 1
    assert 'Error: --ray-address applies to --mode task or --mode job' in local.output
