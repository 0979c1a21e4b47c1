"""Job mode: actions submitted through the Ray Jobs API of a real local cluster."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import pytest
from ray_harness import SAMPLE, files_containing

from synapse_sdk.enums import JobStatus
from synapse_sdk.exceptions import ConfigError, JobFailedError
from synapse_sdk.plugins._loading import load_entrypoint
from synapse_sdk.plugins.executors.ray import RayJobExecutor
from synapse_sdk.plugins.runner import run_plugin

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

TOKEN = 'sk-live-0123456789abcdefSECRET'
OTHER_TOKEN = 'sk-live-fedcba9876543210OTHER'
#: Result values that a pattern-based redaction would have altered.
LOOKALIKES = {'text': 'token=abc', 'hex': '0123456789abcdef' * 4, 'bearer': 'Bearer abcdefgh12345678'}


@pytest.fixture
def jobs(ray_cluster) -> RayJobExecutor:
    return RayJobExecutor(ray_cluster.dashboard_url, SAMPLE)


def test_function_action_by_key_succeeds_with_a_structured_result(jobs):
    job_id = jobs.submit('add', {'a': 20, 'b': 22})
    assert jobs.wait(job_id, timeout_seconds=60) == {'sum': 42}
    assert jobs.get_status(job_id) is JobStatus.SUCCEEDED
    assert jobs.get_result(job_id) == {'sum': 42}
    info = jobs.get_info(job_id)
    assert (info['status'], info['metadata']) == (JobStatus.SUCCEEDED, {'synapse_action': 'add'})
    assert 'adding 20 and 22' in jobs.get_logs(job_id)


def test_class_action_through_run_plugin_returns_a_job_id(ray_cluster):
    job_id = run_plugin(
        str(SAMPLE), 'echo', {'text': 'yo', 'repeat': 2}, mode='job', ray_address=ray_cluster.dashboard_url
    )
    assert isinstance(job_id, str)
    result = RayJobExecutor(ray_cluster.dashboard_url).wait(job_id, timeout_seconds=60)
    assert result == {'text': 'yoyo', 'greeting': 'hello', 'pid': result['pid']}


def test_class_object_is_submitted_by_its_entrypoint(jobs):
    echo_action = load_entrypoint('plugin.actions:EchoAction', SAMPLE)
    job_id = jobs.submit(echo_action, {'text': 'z'})
    assert jobs.wait(job_id, timeout_seconds=60)['text'] == 'z'
    label = echo_action.action_name or 'EchoAction'  # discovery may already have named the class
    assert jobs.get_info(job_id)['metadata'] == {'synapse_action': label}


def test_failing_action_ends_failed_with_the_action_error(jobs):
    job_id = jobs.submit('fail', {'why': 'no gpu'})
    with pytest.raises(JobFailedError) as info:
        jobs.wait(job_id, timeout_seconds=60)
    assert (info.value.job_id, info.value.status) == (job_id, 'FAILED')
    assert str(info.value) == (
        f"Job '{job_id}' ended with status FAILED: ExecutionError: Action execution failed: kaboom: no gpu"
    )


def test_job_past_its_timeout_raises_and_can_be_stopped(jobs):
    job_id = jobs.submit('sleep', {'seconds': 60})
    with pytest.raises(TimeoutError, match=rf"^Job '{job_id}' did not finish within 1 s \(status (PENDING|RUNNING)\)"):
        jobs.wait(job_id, timeout_seconds=1)

    # a reader that stops following early leaves no thread behind
    followed = jobs.stream_logs(job_id)
    seen = ''
    while 'sleeping 60 s' not in seen:
        seen += next(followed)
    assert f'synapse-logs-{job_id}' in [t.name for t in threading.enumerate()]
    followed.close()
    assert f'synapse-logs-{job_id}' not in [t.name for t in threading.enumerate()]

    assert jobs.stop(job_id) is True
    with pytest.raises(JobFailedError, match=rf"^Job '{job_id}' ended with status STOPPED"):
        jobs.wait(job_id, timeout_seconds=30)


def test_bad_requirements_line_is_named_and_nothing_is_submitted(ray_cluster, sample_plugin):
    (sample_plugin / 'requirements.txt').write_text('pydantic>=2\nnumpy>>=1.26\n')
    executor = RayJobExecutor(ray_cluster.dashboard_url, sample_plugin)
    before = len(executor.jobs.list_jobs())
    with pytest.raises(ConfigError) as info:
        executor.submit('add', {'a': 1, 'b': 2})
    assert str(info.value).startswith("requirements.txt line 2: 'numpy>>=1.26' is not a valid requirement (")
    assert str(info.value).endswith("Fix it (e.g. 'numpy>=1.26') or remove the line")
    assert len(executor.jobs.list_jobs()) == before


def test_token_reaches_the_worker_outside_the_shared_working_dir(ray_cluster, jobs, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # every log record of ours and Ray's client, not only warnings
    monkeypatch.setenv('SYNAPSE_HOST', 'http://127.0.0.1:9/')
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', TOKEN)
    credentials_job = jobs.submit('credentials', {'echo': LOOKALIKES, 'child': True})
    files_job = jobs.submit('files', {})
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', OTHER_TOKEN)
    other_job = jobs.submit('files', {})

    credentials = jobs.wait(credentials_job, timeout_seconds=60)
    child = credentials.pop('child_secrets_on_path')
    secrets_uri = jobs.jobs.get_job_info(credentials_job).runtime_env['py_modules'][0]
    assert child['on_path'] == [] and secrets_uri not in child['py_modules']  # a task of the plugin's: no package
    assert credentials == {
        'token_sha256': hashlib.sha256(TOKEN.encode()).hexdigest(),
        'host': 'http://127.0.0.1:9/',
        'params_in_env': False,  # params travel in the job's own package, never in env vars
        'token': '***',  # the action returned the token itself: the worker masks it in its record
        'secrets_on_path': [],  # read and deleted before the action ran
        'echo': LOOKALIKES,  # values that only look like secrets come back unchanged
    }
    listing = {'files': ['config.yaml', 'plugin/__init__.py', 'plugin/actions.py']}
    assert jobs.wait(files_job, timeout_seconds=60) == listing
    assert jobs.wait(other_job, timeout_seconds=60) == listing

    raw = [jobs.jobs.get_job_info(j) for j in (credentials_job, files_job, other_job)]  # Ray's own, unfiltered
    assert len({info.runtime_env['working_dir'] for info in raw}) == 1  # one shared package, whatever the token
    assert len({info.runtime_env['py_modules'][0] for info in raw}) == 3  # a credentials package per job
    visible = json.dumps(
        [
            {'entrypoint': i.entrypoint, 'metadata': i.metadata, 'runtime_env': i.runtime_env, 'message': i.message}
            for i in raw
        ],
        default=str,
    )
    logs = ''.join(jobs.jobs.get_job_logs(j) for j in (credentials_job, files_job, other_job))
    out, err = capfd.readouterr()
    for token in (TOKEN, OTHER_TOKEN):
        assert token not in visible
        assert token not in logs
        assert token not in out + err
        assert token not in caplog.text
        assert files_containing(ray_cluster, token) == []  # logs, unpacked packages: nowhere on the node


def test_large_params_travel_in_the_jobs_package(jobs):
    blob = 'x' * 40000
    job_id = jobs.submit('blob', {'blob': blob})
    assert jobs.wait(job_id, timeout_seconds=60) == {'length': 40000, 'params_file': None}
    assert blob not in json.dumps(jobs.jobs.get_job_info(job_id).runtime_env)


def test_working_dir_ships_without_credentials_git_or_ignored_files(ray_cluster, sample_plugin: Path):
    for name, text in {
        '.env': 'TOKEN=abc',
        'deploy.pem': 'key',
        '.git/config': '[core]',
        '.synapse_params.json': '{}',
        'notes.txt': 'draft',
        'data/big.bin': '0' * 100,
        'data/keep.txt': 'keep',
        '.synapseignore': '# local files\nnotes.txt\ndata/\n!.env\n',
    }.items():
        (sample_plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (sample_plugin / name).write_text(text)
    executor = RayJobExecutor(ray_cluster.dashboard_url, sample_plugin)
    job_id = executor.submit('files', {})
    assert executor.wait(job_id, timeout_seconds=60) == {
        'files': ['.synapseignore', 'config.yaml', 'plugin/__init__.py', 'plugin/actions.py']
    }


def test_stream_logs_follows_the_job_to_its_end(jobs):
    job_id = jobs.submit('add', {'a': 1, 'b': 1})
    text = ''.join(jobs.stream_logs(job_id))
    assert 'adding 1 and 1' in text
    assert '__SYNAPSE_RESULT_START__{"sum":2}__SYNAPSE_RESULT_END__' in text
