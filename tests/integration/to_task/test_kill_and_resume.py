"""A to_task run killed with SIGKILL mid-way, then re-run: every task ends with exactly its annotation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tests.integration.to_task.conftest import build_project, make_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = """
import json, sys
from synapse_sdk.clients import BackendClient
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.executors import LocalExecutor
url, token, project = sys.argv[1], sys.argv[2], int(sys.argv[3])
params = {'name': 'killme', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data',
          'concurrency': 4}
result = LocalExecutor(client=BackendClient(url, token), logger_factory=NoOpLogger).execute(ToTaskAction, params)
print(json.dumps(result.model_dump()))
"""


def ledger_lines(state_dir):
    folder = state_dir / 'to_task'
    files = list(folder.glob('*.jsonl')) if folder.exists() else []
    if not files:
        return []
    lines = []
    for line in files[0].read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # the line being written when the process died
    return lines


def test_sigkill_then_rerun_finishes_without_redoing_or_duplicating(local_backend, proxy, tmp_path):
    fault_proxy, url = proxy
    fault_proxy.file_latency = 0.02
    client = make_client(local_backend.base_url, local_backend.token)
    count = 120
    project = build_project(
        client, count, lambda i: json.dumps({'annotations': {'image_1': [{'id': f'k{i}'}]}}).encode(), name='kill'
    )
    state_dir = tmp_path / 'state'
    env = {**os.environ, 'SYNAPSE_STATE_DIR': str(state_dir)}
    args = [sys.executable, '-c', WORKER, url, local_backend.token, str(project.id)]
    victim = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while sum(1 for r in ledger_lines(state_dir) if r['s'] == 'done') < 25:
        assert victim.poll() is None, 'the run finished before it could be killed'
        assert time.monotonic() < deadline, 'the run made no progress'
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    done_before = {r['t'] for r in ledger_lines(state_dir) if r['s'] == 'done'}
    assert 25 <= len(done_before) < count

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert result['failed_count'] == 0
    assert result['success_count'] + result['skipped_count'] == count
    assert result['skipped_count'] >= len(done_before)

    for task_id in project.task_ids:
        assert client.get_task(task_id)['data'] == project.expected[task_id]
    puts = {int(path.split('/')[2]): n for path, n in fault_proxy.ok_puts.items()}
    assert puts == dict.fromkeys(project.task_ids, 1)  # none missing, none written twice
