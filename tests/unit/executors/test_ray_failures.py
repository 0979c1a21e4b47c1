"""Ray's failure texts turned into one clear line, and the job result read back as printed.

``JobSubmissionClient`` is replaced by a small fake (a third-party seam); the texts are Ray's own.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from synapse_sdk.exceptions import JobFailedError
from synapse_sdk.plugins.executors.ray._failures import runtime_env_failure
from synapse_sdk.plugins.executors.ray.job import RayJobExecutor

#: What Ray 2.60 reported for a job whose requirements.txt named a package the index does not have.
PIP_FAILURE = (Path(__file__).parent / 'data' / 'ray_pip_failure.txt').read_text()

PIP_SUMMARY = (
    'installing the plugin requirements (requirements.txt) failed: pip: ERROR: Could not find a version that '
    'satisfies the requirement synapse-nonexistent-pkg==1.0 (from versions: none). '
    'Fix or remove that requirement in requirements.txt'
)


class FakeJobs:
    """The parts of ``JobSubmissionClient`` the executor reads after a job ended."""

    def __init__(self, info: SimpleNamespace, logs: str, tail: str | None = None) -> None:
        self.info, self.logs, self.tail = info, logs, tail
        self.calls: list[str] = []

    def get_job_info(self, job_id: str) -> SimpleNamespace:
        self.calls.append('info')
        return self.info

    def get_job_logs(self, job_id: str) -> str:
        self.calls.append('logs')
        return self.logs

    def _do_request(self, method: str, endpoint: str, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(f'{method} {endpoint} {sorted(kwargs["params"].items())}')
        if self.tail is None:
            return SimpleNamespace(status_code=500, text='500 Internal Server Error')
        return SimpleNamespace(status_code=200, text=self.tail)


def _executor(jobs: FakeJobs) -> RayJobExecutor:
    executor = RayJobExecutor('http://127.0.0.1:8265')
    executor._jobs = jobs
    return executor


def _info(status: str, message: str = '') -> SimpleNamespace:
    return SimpleNamespace(status=status, message=message, metadata={}, driver_node_id='node-1')


def test_pip_error_line_is_extracted_from_rays_traceback():
    assert runtime_env_failure(PIP_FAILURE) == PIP_SUMMARY


@pytest.mark.parametrize(
    ('text', 'summary'),
    [
        ('Job finished successfully.', None),
        (
            'runtime_env setup failed: Failed to set up runtime environment.\n'
            'Failed to install runtime_env within the timeout of 600 seconds. Consider increasing the timeout',
            'the runtime environment was not ready within 600 s (installing requirements.txt takes longer): '
            'raise it with runtime_env: {config: {setup_timeout_seconds: 1800}} in config.yaml',
        ),
        (
            "Failed to set up runtime environment.\nCommand '['/venv/bin/python', '-m', 'uv', 'pip', 'install']' "
            'failed\n  \u00d7 No solution found when resolving dependencies:\n'
            '  \u2570\u2500\u25b6 Because torch==9 was not found',
            'installing the plugin requirements (requirements.txt) failed: uv: \u00d7 No solution found when resolving '
            'dependencies: Because torch==9 was not found. Fix or remove that requirement in requirements.txt',
        ),
        (
            'RuntimeEnvSetupError: Failed to set up runtime environment.\nTraceback (most recent call last):\n'
            '  File "x.py", line 1, in f\n    ^^^^\nOSError: [Errno 28] No space left on device',
            'the runtime environment could not be set up: OSError: [Errno 28] No space left on device',
        ),
    ],
)
def test_other_runtime_env_failures(text, summary):
    assert runtime_env_failure(text) == summary


def test_failed_job_names_requirements_and_keeps_rays_full_message():
    jobs = FakeJobs(_info('FAILED', PIP_FAILURE), logs='')
    with pytest.raises(JobFailedError) as info:
        _executor(jobs).get_result('raysubmit_1')
    assert str(info.value) == f"Job 'raysubmit_1' ended with status FAILED: {PIP_SUMMARY}"
    assert (info.value.job_id, info.value.status) == ('raysubmit_1', 'FAILED')
    assert info.value.details == {'ray_message': PIP_FAILURE}


def test_failed_job_without_a_record_gets_the_first_line_of_rays_message():
    message = 'Job entrypoint command failed with exit code 137, last available logs:\nKilled\n'
    with pytest.raises(JobFailedError) as info:
        _executor(FakeJobs(_info('FAILED', message), logs='Killed\n')).get_result('raysubmit_2')
    assert str(info.value) == (
        "Job 'raysubmit_2' ended with status FAILED: Job entrypoint command failed with exit code 137, last "
        "available logs (Ray's full message is on error.details['ray_message'])"
    )


RECORD = (
    '__SYNAPSE_RESULT_START__{"text":"token=abc","hex":"%s","auth":"Bearer abcdefgh12345678"}__SYNAPSE_RESULT_END__'
)
LOOKALIKES = {'text': 'token=abc', 'hex': 'ab' * 32, 'auth': 'Bearer abcdefgh12345678'}


def test_result_is_read_from_the_log_tail_unchanged():
    tail = f'adding\n{RECORD % ("ab" * 32)}\n'
    jobs = FakeJobs(_info('SUCCEEDED'), logs='never read', tail=tail)
    assert _executor(jobs).get_result('raysubmit_3') == LOOKALIKES
    assert jobs.calls == [
        'info',
        "GET /api/v0/logs/file [('lines', 200), ('node_id', 'node-1'), ('submission_id', 'raysubmit_3')]",
    ]


def test_result_falls_back_to_the_whole_log_when_the_tail_is_unavailable():
    jobs = FakeJobs(_info('SUCCEEDED'), logs=f'x\n{RECORD % ("ab" * 32)}\n', tail=None)
    assert _executor(jobs).get_result('raysubmit_4') == LOOKALIKES
    assert jobs.calls[-1] == 'logs'
