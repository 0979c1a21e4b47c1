"""Task and job modes, hardened: bounded connects, progress and logs from the actor, secrets kept out of Ray.

Runs against the session's local cluster (``ray_cluster``); the connect tests run the real CLI in a
subprocess, so they never touch this process's Ray connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_harness import SAMPLE, files_containing, free_port
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.enums import LogLevel
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins._loading import load_entrypoint
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayJobExecutor, shutdown_task_executors
from synapse_sdk.plugins.runner import run_plugin

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

TOKEN = 'sk-hardening-0123456789abcdefTOKEN'
PASSWORD = 'pw-hardening-9876543210SECRETVALUE'

EXTRA_ACTIONS = """
import hashlib

from pydantic import BaseModel, SecretStr

from synapse_sdk.plugins import BaseAction, action


class LoginParams(BaseModel):
    password: SecretStr
    token_copy: str


class Login(BaseAction[LoginParams]):
    def execute(self):
        digest = lambda text: hashlib.sha256(text.encode()).hexdigest()
        return {'password': digest(self.params.password.get_secret_value()), 'token': digest(self.params.token_copy)}


class ChattyParams(BaseModel):
    steps: int = 3


@action(params=ChattyParams)
def chatty(params, ctx):
    ctx.logger.info('starting the chatty run')
    for i in range(params.steps):
        ctx.set_progress(i + 1, params.steps, 'work')
    ctx.log_message('chatty is done')
    return {'steps': params.steps}
"""


@pytest.fixture
def plugin(sample_plugin: Path) -> Iterator[Path]:
    (sample_plugin / 'plugin' / 'hardening.py').write_text(EXTRA_ACTIONS)
    config = (sample_plugin / 'config.yaml').read_text()
    config += '  login:\n    entrypoint: plugin.hardening:Login\n  chatty:\n    entrypoint: plugin.hardening:chatty\n'
    (sample_plugin / 'config.yaml').write_text(config)
    yield sample_plugin
    shutdown_task_executors()


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / 'synapse'), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0', **(env or {})},
    )
    return done, time.monotonic() - started


def test_a_closed_port_fails_at_once_with_our_message():
    port = free_port()
    done, took = _cli('plugin', 'run', 'add', '--mode', 'task', '--ray-address', f'127.0.0.1:{port}',
                      '-p', str(SAMPLE), '--params', '{"a": 1, "b": 2}')  # fmt: skip
    assert took < 10, took  # well under the 30 s bound: a refused connection needs no waiting
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"Error: Cannot connect to the Ray cluster at '127.0.0.1:{port}': nothing accepts connections on "
            f'127.0.0.1:{port} (connection refused). Start a cluster with `ray start --head`'
        )
    )


def test_a_port_that_never_answers_fails_within_the_connect_timeout():
    server = socket.create_server(('127.0.0.1', 0))
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    try:
        done, took = _cli('plugin', 'run', 'add', '--mode', 'task', '--ray-address', f'127.0.0.1:{port}',
                          '-p', str(SAMPLE), '--params', '{"a": 1, "b": 2}',
                          env={'SYNAPSE_RAY_CONNECT_TIMEOUT': '3'})  # fmt: skip
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    assert 3 <= took < 15, took  # Ray alone would retry for minutes
    assert done.returncode == 1
    assert f'no answer from 127.0.0.1:{port} within 3 s. Start a cluster with `ray start --head`' in done.stderr


def test_task_mode_replays_the_actors_logs_and_progress_on_the_callers_logger(ray_cluster, plugin):
    logger = MemoryLogger()
    result = run_plugin(
        str(plugin),
        'chatty',
        {'steps': 3},
        mode='task',
        ray_address=ray_cluster.gcs_address,
        logger_factory=lambda: logger,
    )
    assert result == {'steps': 3}
    messages = [(e.level, e.event, e.data) for e in logger.entries]
    assert (LogLevel.INFO, 'info', {'message': 'starting the chatty run'}) in messages
    assert any(e.event == 'message' and e.data.get('content') == 'chatty is done' for e in logger.entries)
    assert [(step, r.current, r.total) for step, r in logger.progress_updates] == [
        ('work', 1, 3),
        ('work', 2, 3),
        ('work', 3, 3),
    ]
    assert logger.finished


def test_task_mode_on_the_cli_prints_the_actors_messages(ray_cluster, plugin):
    result = CliRunner().invoke(
        app, ['plugin', 'run', 'chatty', '--mode', 'task', '--ray-address', ray_cluster.gcs_address, '-p', str(plugin)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {'steps': 3}
    assert 'starting the chatty run' in result.stderr
    assert 'chatty is done' in result.stderr


def test_unknown_params_are_refused_in_task_and_job_modes_before_anything_runs(ray_cluster, plugin):
    jobs = RayJobExecutor(ray_cluster.dashboard_url, plugin)
    before = len(jobs.jobs.list_jobs())
    for mode, address in (('task', ray_cluster.gcs_address), ('job', ray_cluster.dashboard_url)):
        with pytest.raises(
            ValidationError, match=r"^Parameter validation failed: unknown param 'stpes': did you mean 'steps'\?$"
        ):
            run_plugin(str(plugin), 'chatty', {'stpes': 2}, mode=mode, ray_address=address)
    assert len(jobs.jobs.list_jobs()) == before  # nothing was submitted
    job_id = run_plugin(str(plugin), 'chatty', {'stpes': 2}, mode='job', ray_address=ray_cluster.dashboard_url,
                        allow_unknown_params=True)  # fmt: skip
    assert jobs.wait(job_id, timeout_seconds=90) == {'steps': 3}
    assert "ignoring unknown param 'stpes' (allow_unknown_params is on)" in jobs.get_logs(job_id)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_secret_params_never_reach_rays_metadata_or_logs(ray_cluster, plugin, monkeypatch):
    monkeypatch.setenv('SYNAPSE_HOST', 'http://127.0.0.1:9/')
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', TOKEN)
    expected = {'password': _sha(PASSWORD), 'token': _sha(TOKEN)}
    params = {'password': PASSWORD, 'token_copy': TOKEN}

    jobs = RayJobExecutor(ray_cluster.dashboard_url, plugin)
    job_id = jobs.submit('login', params)
    assert jobs.wait(job_id, timeout_seconds=90) == expected  # the action got the real values

    login = load_entrypoint('plugin.hardening:Login', plugin)
    with RayActorExecutor(ray_cluster.gcs_address, plugin, logger_factory=MemoryLogger) as task:
        assert task.execute(login, params) == expected
        assert task.execute('login', params) == expected

    info = jobs.jobs.get_job_info(job_id)  # Ray's own record, unfiltered
    visible = json.dumps(
        {
            'entrypoint': info.entrypoint,
            'metadata': info.metadata,
            'runtime_env': info.runtime_env,
            'message': info.message,
        },
        default=str,
    )
    logs = jobs.jobs.get_job_logs(job_id)
    for secret in (PASSWORD, TOKEN):
        assert secret not in visible
        assert secret not in logs
        assert files_containing(ray_cluster, secret) == []  # session logs, runtime_env_agent.log, packages
    assert 'SYNAPSE_ACTION_PARAMS' not in info.runtime_env.get('env_vars', {})
