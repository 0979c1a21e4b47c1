"""The inference method against a simulated platform (the platform is a third party: httpx.MockTransport)."""

import json
import re
import threading
import time

import httpx
import pytest

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.exceptions import PreProcessorError, ServerError, StepError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.actions.to_task import task as task_module
from synapse_sdk.plugins.executors import LocalExecutor

RELEASE = {
    'id': 789,
    'version': '1.2.0',
    'config': {
        'code': 'yolo-pre',
        'actions': {
            'inference': {
                'required_resources': {'required_cpu_count': 2, 'required_gpu_count': 1, 'memory_bytes': 123}
            },
            'deployment': {'serve_options': {'batch': {'max_batch_size': 8}}},
        },
    },
}


class Platform:
    """Just enough of the platform API for ToTask's inference method."""

    def __init__(self, apps=None, tasks=3):
        self.app_statuses = list(apps or [])  # each poll pops the next listing until one is left
        self.runs = []
        self.puts = {}
        self.dispatch_status = 200
        self.inference_replies = {}
        self.tasks = tasks

    def listing(self):
        statuses = self.app_statuses[0] if len(self.app_statuses) == 1 else self.app_statuses.pop(0)
        return [{'id': i, 'status': s, 'plugin_code': 'yolo-pre'} for i, s in enumerate(statuses)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == '/projects/1/':
            return httpx.Response(200, json={'id': 1, 'data_collection': 5})
        if path == '/data_collections/5/':
            return httpx.Response(200, json={'id': 5, 'file_specifications': [{'name': 'image'}]})
        if path == '/plugin_releases/789/':
            return httpx.Response(200, json=RELEASE)
        if path == '/serve_applications/':
            results = self.listing()
            return httpx.Response(200, json={'count': len(results), 'next': None, 'previous': None, 'results': results})
        if path == '/plugins/yolo-pre/run/':
            body = json.loads(request.content)
            self.runs.append(body)
            if body['action'] == 'deployment':
                return httpx.Response(
                    self.dispatch_status,
                    json={'job_id': 55} if self.dispatch_status < 400 else {'detail': 'agent down'},
                )
            return self._inference(body)
        if path == '/sdk/tasks/':
            results = [{'id': i} for i in range(1, self.tasks + 1)]
            return httpx.Response(200, json={'count': len(results), 'next': None, 'previous': None, 'results': results})
        match = re.fullmatch(r'/tasks/(\d+)/', path)
        if match:
            tid = int(match.group(1))
            files = {
                'image': {
                    'url': f'http://platform.test/files/{tid}.jpg',
                    'is_primary': True,
                    'file_name_original': f'{tid}.jpg',
                }
            }
            return httpx.Response(200, json={'id': tid, 'data': {}, 'data_unit': {'id': tid, 'files': files}})
        match = re.fullmatch(r'/tasks/(\d+)/annotate_task_data/', path)
        if match:
            self.puts[int(match.group(1))] = json.loads(request.content)
            return httpx.Response(200, json={'id': int(match.group(1))})
        return httpx.Response(404, json={'detail': f'no route {path}'})

    def _inference(self, body):
        params = body['params']
        if '__synapse_poll__' in params['json']:
            return httpx.Response(200, json=self.inference_replies.pop(params['json']['__synapse_poll__']))
        url = params['json']['primary_file_url']
        tid = int(url.rsplit('/', 1)[1].split('.')[0])
        if tid == 2:
            self.inference_replies['t-2'] = {'boxes': [[0, 0, 1, 1]], 'task': 2}
            return httpx.Response(200, json={'__synapse_deferred__': True, 'status': 'pending', 'ticket': 't-2'})
        if tid == 3:
            return httpx.Response(200, json={})
        return httpx.Response(200, json={'boxes': [], 'task': tid})


def run(platform, **extra):
    client = BackendClient(
        'http://platform.test/', 'tok-secret', transport=httpx.MockTransport(platform), retry=RetryPolicy(attempts=1)
    )
    params = {
        'name': 'infer',
        'project': 1,
        'agent': 7,
        'method': 'inference',
        'pre_processor': 789,
        'model': 42,
        'pre_processor_params': {'confidence': 0.5},
        'pre_processor_poll_seconds': 0.01,
        **extra,
    }
    logger = MemoryLogger()
    result = LocalExecutor(client=client, logger_factory=lambda: logger).execute(ToTaskAction, params)
    return result, logger


@pytest.fixture(autouse=True)
def _fast_deferred(monkeypatch, tmp_path):
    monkeypatch.setattr(task_module, 'DEFERRED_FIRST_DELAY', 0.01)
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path))


def test_dispatches_waits_and_annotates_with_deferred_and_empty_replies():
    platform = Platform(apps=[[], ['DEPLOYING'], ['RUNNING']])
    result, logger = run(platform)
    deployment = platform.runs[0]
    assert deployment == {'agent': 7, 'action': 'deployment', 'params': {'num_cpus': 2, 'num_gpus': 1, 'memory': 123}}
    inference_calls = [r for r in platform.runs if r['action'] == 'inference']
    first = next(r for r in inference_calls if r['params']['json'].get('primary_file_url', '').endswith('/1.jpg'))
    assert first == {
        'agent': 7,
        'action': 'inference',
        'version': '1.2.0',
        'params': {
            'model': 42,
            'method': 'post',
            'json': {
                'primary_file_url': 'http://platform.test/files/1.jpg',
                'primary_file_name': '1.jpg',
                'data_files': [
                    {'url': 'http://platform.test/files/1.jpg', 'file_name': '1.jpg', 'specification_name': 'image'}
                ],
                'params': {'confidence': 0.5},
            },
        },
    }
    assert platform.puts == {
        1: {'action': 'submit', 'data': {'boxes': [], 'task': 1}},
        2: {'action': 'submit', 'data': {'boxes': [[0, 0, 1, 1]], 'task': 2}},
    }
    assert result.model_dump(exclude={'dry_run', 'run_id', 'summary'}) == {  # the run record: its own tests
        'status': 'SUCCEEDED',
        'message': 'to_task completed. success=2, failed=1',
        'total_tasks': 3,
        'success_count': 2,
        'failed_count': 1,
        'skipped_count': 0,
        'failures': [
            {
                'task_id': 3,
                'error': 'Inference failed: pre-processor returned an empty or failed response — task update skipped',
            }
        ],
    }
    messages = [e.data['content'] for e in logger.events('message')]
    assert 'Batch mode: 3 task(s) split into 1 window(s) of up to 8 task(s)' in messages


def test_running_app_is_reused_without_dispatch():
    platform = Platform(apps=[['DEPLOY_FAILED', 'RUNNING']])
    _, logger = run(platform)
    assert [r['action'] for r in platform.runs].count('deployment') == 0
    assert 'Pre-processor already running' in [e.data['content'] for e in logger.events('message')]


def test_deploying_app_is_awaited_not_dispatched_again():
    platform = Platform(apps=[['DEPLOYING'], ['DEPLOYING'], ['RUNNING']])
    run(platform)
    assert [r['action'] for r in platform.runs].count('deployment') == 0


def test_dispatch_client_error_is_a_pre_processor_error_with_cause():
    platform = Platform(apps=[[]])
    platform.dispatch_status = 503
    with pytest.raises(PreProcessorError) as info:
        run(platform)
    assert str(info.value) == 'Pre-processor deployment dispatch failed (ServerError)'
    assert (info.value.phase, info.value.error_type) == ('dispatch', 'ServerError')
    assert isinstance(info.value.__cause__, ServerError)
    assert isinstance(info.value, RuntimeError) and not isinstance(info.value, StepError)
    assert 'tok-secret' not in repr(info.value.__cause__)


def test_terminal_state_fails_fast():
    platform = Platform(apps=[[], ['DEPLOYING'], ['UNHEALTHY']])
    with pytest.raises(
        PreProcessorError,
        match=r'^Pre-processor deployment failed: serve application reached terminal state \(UNHEALTHY\)$',
    ) as info:
        run(platform)
    assert info.value.status == 'UNHEALTHY'
    assert platform.puts == {}


def test_timeout_while_pending():
    platform = Platform(apps=[['NOT_STARTED']])
    with pytest.raises(PreProcessorError, match=r'^Pre-processor did not become ready within timeout$'):
        run(platform, pre_processor_timeout_seconds=0.05)


def test_missing_release_config_is_a_step_error():
    platform = Platform()
    RELEASE_BAD = {'id': 789, 'version': None, 'config': {}}
    original = platform.__call__

    def handler(request):
        if request.url.path == '/plugin_releases/789/':
            return httpx.Response(200, json=RELEASE_BAD)
        return original(request)

    with pytest.raises(StepError, match=r"^Step 'prepare' failed: Invalid pre-processor configuration$"):
        run(handler)


class PendingForever(Platform):
    """Task 2's inference is deferred and its ticket never leaves ``pending``."""

    def __init__(self):
        super().__init__(apps=[['RUNNING']])
        self.deferred_sent = False
        self.polls = 0

    def _inference(self, body):
        pending = {'__synapse_deferred__': True, 'status': 'pending', 'ticket': 't-2'}
        if '__synapse_poll__' in body['params']['json']:
            self.polls += 1
            return httpx.Response(200, json=pending)
        tid = int(body['params']['json']['primary_file_url'].rsplit('/', 1)[1].split('.')[0])
        if tid == 2:
            self.deferred_sent = True
            return httpx.Response(200, json=pending)
        return httpx.Response(200, json={'boxes': [], 'task': tid})


class LoggerDown(Exception):
    pass


class FailsOnFirstOutcome(MemoryLogger):
    """Raises from the first task outcome it records, once ``ready()`` (what a broken logger or Ctrl-C does)."""

    def __init__(self, ready):
        super().__init__()
        self.ready = ready

    def _emit(self, entry):
        super()._emit(entry)
        if entry.event == 'annotate_task_data':
            deadline = time.monotonic() + 10
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.01)
            raise LoggerDown('logger down')


def test_a_stop_ends_a_deferred_inference_wait_at_once(monkeypatch):
    monkeypatch.setattr(task_module, 'DEFERRED_FIRST_DELAY', 60.0)  # the first poll would be a minute away
    platform = PendingForever()
    client = BackendClient(
        'http://platform.test/', 'tok-secret', transport=httpx.MockTransport(platform), retry=RetryPolicy(attempts=1)
    )
    params = {'name': 'infer', 'project': 1, 'agent': 7, 'method': 'inference', 'pre_processor': 789, 'model': 42}
    logger = FailsOnFirstOutcome(ready=lambda: platform.deferred_sent)
    started = time.monotonic()
    with pytest.raises(StepError) as info:
        LocalExecutor(client=client, logger_factory=lambda: logger).execute(ToTaskAction, params)
    assert time.monotonic() - started < 5
    assert str(info.value) == "Step 'annotate_task_data' failed: Failed to process tasks: logger down"
    assert type(info.value.__cause__) is LoggerDown
    assert platform.polls == 0
    assert 2 not in platform.puts
    assert [t.name for t in threading.enumerate() if t.name.startswith('to_task')] == []
