"""JobLogger/BackendLogger: batched, coalesced, non-blocking reporting to the backend job."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from synapse_sdk.clients.base.call import Call
from synapse_sdk.exceptions import ServerError
from synapse_sdk.local.connect import connect_local
from synapse_sdk.loggers import BackendLogger, JobLogger


class RecordingBackend:
    """Stands in for the HTTP backend at the JobReportingClient seam; records what it is sent."""

    def __init__(self, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.fail = fail
        self.patches: list[dict] = []
        self.batches: list[list[dict]] = []
        self.lock = threading.Lock()

    def update_job(self, job_id, data):
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise ServerError(503, 'down for maintenance, token=abcdef123456')
        with self.lock:
            self.patches.append(data)

    def create_logs(self, entries):
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise ServerError(503, 'down')
        with self.lock:
            self.batches.append(list(entries))


def _wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.01)


def test_reports_progress_metrics_events_to_the_local_backend(tmp_path: Path):
    with connect_local(tmp_path / 'local', in_process=True) as client:
        job = client._call(Call('POST', 'jobs/', json={'action': 'train'}), lambda body: body)
        logger = JobLogger(client, job['id'], patch_interval=0.01, log_interval=0.01)
        logger.info('starting')
        logger.set_progress(1, 4, 'train')
        logger.set_metrics({'loss': 0.5}, 'train')
        logger.set_metrics({'acc': 0.9}, 'train')
        logger.finish()
        stored = client.get_job(job['id'])
        logs = client.logs.list({'job': job['id']})
    assert stored['status'] == 'RUNNING'
    assert stored['progress_record'] == {
        'record': {
            'steps': {
                'train': {
                    'current': 1,
                    'total': 4,
                    'percent': 25.0,
                    'eta_seconds': stored['progress_record']['record']['steps']['train']['eta_seconds'],
                }
            }
        },
        'current_progress': {
            'overall': 25.0,
            'step': 'train',
            'percent': 25.0,
            'time_remaining': stored['progress_record']['current_progress']['time_remaining'],
        },
    }
    assert stored['metrics_record'] == {'record': {'steps': {'train': {'loss': 0.5, 'acc': 0.9}}}}
    assert [(e['event'], e['level'], e['data'], e['job']) for e in logs] == [
        ('info', 'info', {'message': 'starting'}, job['id'])
    ]


def test_logs_go_in_batches_of_200_and_the_rest_on_finish():
    backend = RecordingBackend()
    logger = BackendLogger(backend, 7, log_interval=60, patch_interval=60)
    for i in range(450):
        logger.info(f'line {i}')
    _wait_for(lambda: len(backend.batches) == 2)
    logger.finish()
    assert [len(b) for b in backend.batches] == [200, 200, 50]
    assert backend.batches[2][-1]['data'] == {'message': 'line 449'} and backend.batches[0][0]['job'] == 7


def test_logs_waiting_longer_than_the_interval_are_sent_without_finish():
    backend = RecordingBackend()
    logger = BackendLogger(backend, 'job-1', log_interval=0.05, patch_interval=60)
    logger.info('one')
    _wait_for(lambda: len(backend.batches) == 1)
    assert backend.batches[0][0]['job'] == 'job-1'
    logger.finish()


def test_progress_patches_are_coalesced_and_the_last_value_wins():
    backend = RecordingBackend()
    logger = BackendLogger(backend, 1, patch_interval=0.2)
    started = time.monotonic()
    for i in range(1, 101):
        logger.set_progress(i, 100, 'train')
        time.sleep(0.003)
    logger.finish()
    elapsed = time.monotonic() - started
    assert len(backend.patches) <= 2 + elapsed / 0.2
    assert backend.patches[0]['status'] == 'RUNNING'
    assert backend.patches[-1]['progress_record']['current_progress']['overall'] == 100.0


def test_the_action_is_never_blocked_by_a_stuck_backend():
    gate = threading.Event()
    backend = RecordingBackend(gate=gate)
    logger = BackendLogger(backend, 1, patch_interval=0.0, log_interval=0.0)
    logger.info('first')
    time.sleep(0.05)  # the sender is now stuck inside the backend call
    for i in range(500):
        logger.info(f'event {i}')
        logger.set_progress(i + 1, 500, 'work')
    assert backend.batches == [] and backend.patches == []  # all 1000 calls returned while it was stuck
    gate.set()
    logger.finish()
    assert [len(b) for b in backend.batches] == [1, 200, 200, 100]
    assert backend.patches[-1]['progress_record']['current_progress']['percent'] == 100.0


def test_overall_never_decreases_with_weighted_steps():
    backend = RecordingBackend()
    logger = BackendLogger(backend, 1, patch_interval=0.0)
    logger.step_proportions = {'download': 50, 'train': 50}
    overall = []
    for current, step in [(100, 'download'), (50, 'train'), (10, 'download')]:
        logger.set_progress(current, 100, step)
        overall.append(logger._current['overall'])
    logger.finish()
    assert overall == [50.0, 75.0, 75.0]
    assert backend.patches[-1]['progress_record']['record']['steps']['download']['proportion'] == 50


def test_backend_failures_are_counted_and_logged_without_secrets(caplog):
    backend = RecordingBackend(fail=True)
    logger = BackendLogger(backend, 3, patch_interval=0.0)
    logger.info('x')
    logger.set_progress(1, 2, 's')
    with caplog.at_level('WARNING', logger='synapse_sdk'):
        logger.finish()
    assert logger.send_errors == 2
    assert 'abcdef123456' not in caplog.text
    assert 'Job 3: could not report to the backend:' in caplog.text


def test_finished_logger_refuses_more_calls():
    logger = BackendLogger(RecordingBackend(), 1)
    logger.finish()
    with pytest.raises(RuntimeError, match=r'^Cannot log to a finished logger$'):
        logger.info('late')


def test_small_files_are_attached_as_data_uris(tmp_path):
    backend = RecordingBackend()
    logger = BackendLogger(backend, 1)
    (tmp_path / 'a.txt').write_text('hi')
    logger.log('info', 'artifact', {'name': 'a'}, file=str(tmp_path / 'a.txt'))
    logger.log('info', 'artifact', {'name': 'b'}, file=str(tmp_path / 'missing.txt'))
    logger.finish()
    entries = backend.batches[0]
    assert entries[0]['file'] == 'data:text/plain;base64,aGk='
    assert 'file' not in entries[1]
