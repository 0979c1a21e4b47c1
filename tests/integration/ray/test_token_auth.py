"""A head with Ray token authentication: task and job mode find the token by themselves.

This is the one test that starts a Ray head of its own (token mode cannot be switched on for the
session's head); a client process is started for each check, since one process connects to one
cluster.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from ray_harness import SAMPLE, start_cluster

from synapse_sdk.exceptions import ExecutorError
from synapse_sdk.plugins.executors.ray import RayJobExecutor

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

CLIENT = """
import json, sys
from synapse_sdk.exceptions import ExecutorError
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayJobExecutor

gcs, dashboard, plugin = sys.argv[1:4]
out = {}
try:
    with RayActorExecutor(gcs, plugin) as task:
        out['task'] = task.execute('add', {'a': 1, 'b': 2})
except ExecutorError as exc:
    out['task_error'] = str(exc)
if len(sys.argv) > 4:
    jobs = RayJobExecutor(dashboard, plugin)
    out['job'] = jobs.wait(jobs.submit('add', {'a': 3, 'b': 4}), timeout_seconds=60)
print(json.dumps(out))
"""

FIX = (
    "set RAY_AUTH_TOKEN to the cluster's token or save it in ~/.ray/auth_token "
    '(`ray get-auth-token` on the head node prints it)'
)


def _client_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('RAY_AUTH_') and not k.startswith('SYNAPSE_')}
    return {**env, 'HOME': str(home), 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0'}


def _run_client(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, '-c', CLIENT, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_task_and_job_mode_on_a_head_with_token_authentication(tmp_path, monkeypatch):
    home = tmp_path / 'home'
    (home / '.ray').mkdir(parents=True)
    token = secrets.token_hex(16)
    (home / '.ray' / 'auth_token').write_text(token)
    env = _client_env(home)  # RAY_AUTH_MODE is not set: the SDK must notice the token itself
    head = start_cluster(num_cpus=1, env={**env, 'RAY_AUTH_MODE': 'token'})
    try:
        args = (head.gcs_address, head.dashboard_url, str(SAMPLE))
        assert _run_client(env, *args, 'job') == {'task': {'sum': 3}, 'job': {'sum': 7}}

        # a machine without the token is told what is wrong and how to fix it (Ray's retries cut short)
        stranger = tmp_path / 'stranger'
        stranger.mkdir()
        refused = _run_client({**_client_env(stranger), 'RAY_gcs_server_port_wait_time_s': '1'}, *args)
        assert refused == {
            'task_error': f"Cannot connect to the Ray cluster at '{head.gcs_address}': the cluster uses Ray token "
            f'authentication and no token was found on this machine: {FIX}'
        }
        monkeypatch.setenv('HOME', str(stranger))
        with pytest.raises(ExecutorError) as info:
            RayJobExecutor(head.dashboard_url).get_status('raysubmit_none')
        assert str(info.value) == (
            f'Cannot use the Ray dashboard at {head.dashboard_url}: the cluster uses Ray token authentication '
            f'and no token was found on this machine: {FIX}'
        )
    finally:
        head.stop()
