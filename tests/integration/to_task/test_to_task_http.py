"""ToTask over real HTTP: PUT retries, unreachable files, auth scope, the resume intent check, both HTTP paths."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.integration.fault_proxy import Fault
from tests.integration.to_task.conftest import build_project, make_client

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, data_hash
from synapse_sdk.plugins.executors import LocalExecutor

pytestmark = pytest.mark.integration

TASK_FIELDS = {'fields': 'id,data,data_unit', 'expand': 'data_unit'}


def good(i: int) -> bytes:
    return json.dumps({'annotations': {'image_1': [{'id': f'h{i}', 'label': 'car'}]}, 'index': i}).encode()


def run_to_task(base_url, token, project_id, action=ToTaskAction, **extra):
    logger = MemoryLogger()
    params = {'name': 'prelabel', 'project': project_id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    executor = LocalExecutor(client=make_client(base_url, token), logger_factory=lambda: logger)
    return executor.execute(action, {**params, **extra}), logger


def messages(logger: MemoryLogger, context: str | None = None) -> list[str]:
    return [e.data['content'] for e in logger.events('message') if context in (None, e.data['context'])]


@pytest.fixture(params=['aiohttp', 'client'])
def http_path(request, monkeypatch) -> str:
    """Each test runs over the fast aiohttp path and over the client's own (httpx) path."""
    if request.param == 'client':
        monkeypatch.setenv('SYNAPSE_TO_TASK_HTTP', 'client')
    return request.param


def closed_port() -> int:
    """A port in this suite's range that nothing listens on (connection refused)."""
    for port in range(18399, 18300, -1):
        with socket.socket() as sock:
            if sock.connect_ex(('127.0.0.1', port)) != 0:
                return port
    raise RuntimeError('no closed port in 18300-18399')


def test_put_500s_are_retried_and_recorded_when_they_persist(local_backend, proxy, http_path):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 4, good, name='put500')
    ids = project.task_ids
    once, always = f'/tasks/{ids[0]}/annotate_task_data/', f'/tasks/{ids[1]}/annotate_task_data/'
    fault_proxy.faults = [Fault('PUT', once, 500, times=1), Fault('PUT', always, 500)]
    result, logger = run_to_task(url, local_backend.token, project.id)
    assert result.model_dump(exclude={'dry_run', 'run_id', 'summary'}) == {  # the run record: its own tests
        'status': 'SUCCEEDED',
        'message': 'to_task completed. success=3, failed=1',
        'total_tasks': 4,
        'success_count': 3,
        'failed_count': 1,
        'skipped_count': 0,
        'failures': [{'task_id': ids[1], 'error': '500: injected fault'}],
    }
    assert (fault_proxy.requests[('PUT', once)], fault_proxy.ok_puts[once]) == (2, 1)  # 500 once, then written
    assert (fault_proxy.requests[('PUT', always)], fault_proxy.ok_puts[always]) == (3, 0)  # 1 + annotate_retries=2
    assert client.get_task(ids[0])['data'] == project.expected[ids[0]]
    assert client.get_task(ids[1])['data'] == {}
    assert messages(logger, 'error') == [f'[Task {ids[1]}] Failed: 500: injected fault']


def test_annotate_retries_zero_records_the_first_500(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, good, name='put500-noretry')
    path = f'/tasks/{project.task_ids[0]}/annotate_task_data/'
    fault_proxy.faults = [Fault('PUT', path, 500, times=1)]
    result, _ = run_to_task(url, local_backend.token, project.id, annotate_retries=0)
    assert [(f.task_id, f.error) for f in result.failures] == [(project.task_ids[0], '500: injected fault')]
    assert fault_proxy.requests[('PUT', path)] == 1


def test_a_file_url_at_a_closed_port_is_a_task_failure(local_backend, http_path):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, good, name='refused')
    collection = client.get_project(project.id)['data_collection']
    image = client.data_files.upload(b'\xff\xd8x', 'lost.jpg')
    dead = client.data_files.register_external(f'http://127.0.0.1:{closed_port()}/ann/lost.json', 'lost.json')
    files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': dead['id']}}
    unit = client.data_units.create(collection, files, key='lost')
    lost = client.tasks.create(project.id, data_unit=unit['id'])['id']
    result, logger = run_to_task(local_backend.base_url, local_backend.token, project.id)
    assert (result.success_count, result.failed_count) == (2, 1)
    assert [(f.task_id, f.error) for f in result.failures] == [
        (lost, 'Failed to download JSON from URL (connection refused)')
    ]
    assert messages(logger, 'error') == [f'[Task {lost}] Failed: Failed to download JSON from URL (connection refused)']


class HeaderRecorder:
    """An ASGI file host (like object storage) that records the headers of each request."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            return
        self.seen.append({'path': scope['path'], **{k.decode().lower(): v.decode() for k, v in scope['headers']}})
        if scope['path'] == '/moved.json':  # a redirect must not be followed (it could carry a token away)
            headers = [(b'location', b'/ann/0.json'), (b'content-length', b'0')]
            await send({'type': 'http.response.start', 'status': 302, 'headers': headers})
            await send({'type': 'http.response.body', 'body': b''})
            return
        index = int(re.fullmatch(r'/ann/(\d+)\.json', scope['path']).group(1))
        body = good(index)
        headers = [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]
        await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
        await send({'type': 'http.response.body', 'body': body})


def test_auth_headers_go_only_to_the_backend(local_backend, asgi_server, http_path):
    client = make_client(local_backend.base_url, local_backend.token)
    recorder = HeaderRecorder()
    with asgi_server(recorder) as files_url:
        collection = client.data_collections.create(
            f'ext-{http_path}', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
        )
        project = client.projects.create(f'external-files-{http_path}', data_collection=collection['id'])
        ids = []
        for i in range(4):
            image = client.data_files.upload(b'\xff\xd8x', f'e{i}.jpg')
            path = f'ann/{i}.json' if i < 3 else 'moved.json'
            ann = client.data_files.register_external(f'{files_url}{path}?X-Amz-Signature=s3cr3t{i}', f'{i}.json')
            files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': ann['id']}}
            unit = client.data_units.create(collection['id'], files, key=f'e{i}')
            ids.append(client.tasks.create(project['id'], data_unit=unit['id'])['id'])
        result, _ = run_to_task(local_backend.base_url, local_backend.token, project['id'])
    assert (result.success_count, [(f.task_id, f.error) for f in result.failures]) == (
        3,
        [(ids[3], 'Failed to download JSON from URL (redirect not followed, status 302)')],
    )
    assert [client.get_task(t)['data'].get('index') for t in ids] == [0, 1, 2, None]
    assert sorted(h['path'] for h in recorder.seen) == ['/ann/0.json', '/ann/1.json', '/ann/2.json', '/moved.json']
    for headers in recorder.seen:
        assert not {'synapse-access-token', 'authorization', 'synapse-tenant'} & set(headers)
        assert local_backend.token not in json.dumps(headers)


def test_an_intent_whose_data_is_in_place_is_skipped_without_a_put(local_backend, proxy, http_path):
    """The run that wrote task 0 died before recording ``done``; task 1's intent was for other data."""
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 3, good, name='intent')
    ids = project.task_ids
    client.annotate_task_data(ids[0], project.expected[ids[0]])  # the dead run's PUT landed
    params = {'name': 'intent', 'project': project.id, 'agent': 1, 'target_specification_name': 'annotation_data'}
    key = ToTaskAction.ledger_key(params, client)
    ledger = Ledger.for_key(key)
    ledger.intent(ids[0], data_hash(project.expected[ids[0]]))
    ledger.intent(ids[1], data_hash({'something': 'else'}))
    ledger.close()

    result, _ = run_to_task(url, local_backend.token, project.id)
    assert (result.success_count, result.skipped_count, result.failed_count) == (2, 1, 0)
    assert fault_proxy.requests[('PUT', f'/tasks/{ids[0]}/annotate_task_data/')] == 0
    assert fault_proxy.ok_puts[f'/tasks/{ids[1]}/annotate_task_data/'] == 1
    assert set(Ledger.for_key(key).state.done) == set(ids)
    for task_id in ids:
        assert client.get_task(task_id)['data'] == project.expected[task_id]


class RecordingToTask(ToTaskAction):
    """Keeps the ``task_data`` each hook call gets."""

    seen: dict[int, dict[str, Any]] = {}

    def convert_data_from_file(
        self, primary_file_url, primary_file_name, data_file_url, data_file_name, task_data=None
    ):
        RecordingToTask.seen[task_data['id']] = task_data  # one key per task: safe across threads
        return self.download_json(data_file_url)


class FailAfterFirst(Fault):
    """Lets the first matching request through (the id scan), then fails the rest (the detail prefetch)."""

    def matches(self, method: str, path: str) -> bool:
        if method != self.method or not re.fullmatch(self.path, path):
            return False
        self.used += 1
        return self.used > 1


@pytest.mark.parametrize('prefetch', ['listing', 'per-task GET'])
def test_hooks_get_task_data_shaped_like_the_task_endpoint(local_backend, proxy, http_path, prefetch):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 3, good, name='shape')
    if prefetch == 'per-task GET':
        fault_proxy.faults = [FailAfterFirst('GET', '/sdk/tasks/', 500)]
    before = {t: make_client(url, local_backend.token).get_task(t, params=TASK_FIELDS) for t in project.task_ids}
    fault_proxy.requests.clear()
    RecordingToTask.seen = {}
    result, _ = run_to_task(url, local_backend.token, project.id, action=RecordingToTask)
    assert result.success_count == 3
    per_task_gets = sum(
        n for (m, p), n in fault_proxy.requests.items() if m == 'GET' and re.fullmatch(r'/tasks/\d+/', p)
    )
    assert per_task_gets == (0 if prefetch == 'listing' else 3)
    assert RecordingToTask.seen == before
    assert all(set(task) == {'id', 'data', 'data_unit'} and task['data'] == {} for task in before.values())


def test_the_http_path_taken_and_its_fallbacks(local_backend, monkeypatch, caplog):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, good, name='paths')
    caplog.set_level(logging.DEBUG, logger='synapse_sdk.plugins.to_task')

    def run_and_path(**extra):
        caplog.clear()
        result, logger = run_to_task(local_backend.base_url, local_backend.token, project.id, resume=False, **extra)
        assert (result.success_count, result.failed_count) == (2, 0)
        [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith('to_task HTTP path')]
        return line, messages(logger, 'warning')

    assert run_and_path() == ('to_task HTTP path: aiohttp, 16 task(s) at a time', [])
    assert run_and_path(concurrency=3) == ('to_task HTTP path: aiohttp, 3 task(s) at a time', [])
    monkeypatch.setenv('SYNAPSE_TO_TASK_HTTP', 'client')
    assert run_and_path() == ('to_task HTTP path: client, 16 task(s) at a time', [])
    monkeypatch.delenv('SYNAPSE_TO_TASK_HTTP')
    monkeypatch.setitem(sys.modules, 'aiohttp', None)  # as if the extra were not installed
    assert run_and_path() == (
        'to_task HTTP path: client-no-aiohttp, 16 task(s) at a time',
        [
            'aiohttp >= 3.10 is not installed: tasks use the slower threaded HTTP path '
            "(pip install 'synapse-sdk[to-task]')"
        ],
    )


class DownloadingHook(ToTaskAction):
    """Downloads through ``self.download_json`` from its own hook (the user-hook path)."""

    def convert_data_from_file(
        self, primary_file_url, primary_file_name, data_file_url, data_file_name, task_data=None
    ):
        return self.download_json(data_file_url)


@pytest.mark.parametrize('action', [ToTaskAction, DownloadingHook], ids=['built-in hook', 'own hook'])
def test_an_annotation_file_over_the_limit_fails_its_task_unread(local_backend, proxy, http_path, action):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    big = json.dumps({'annotations': {'image_1': [{'id': 'x' * 100}] * 30_000}}).encode()  # ~3.3 MiB
    project = build_project(client, 3, lambda i: big if i == 1 else good(i), name=f'big-{http_path}')
    result, _ = run_to_task(url, local_backend.token, project.id, action=action, max_annotation_file_mb=1)
    assert (result.success_count, [(f.task_id, f.error) for f in result.failures]) == (
        2,
        [
            (
                project.task_ids[1],
                'Annotation file img1.json is larger than the 1 MiB limit (raise max_annotation_file_mb)',
            )
        ],
    )
    assert client.get_task(project.task_ids[1])['data'] == {}
    assert fault_proxy.requests[('GET', file_path_of(client, project.task_ids[1]))] == 1  # refused, not retried


def file_path_of(client, task_id: int) -> str:
    url = client.get_task(task_id, params=TASK_FIELDS)['data_unit']['files']['annotation_data']['url']
    return urlsplit(url).path  # without the presigned query
