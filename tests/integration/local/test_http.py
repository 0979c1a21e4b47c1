"""The local backend over real HTTP on 127.0.0.1: the ToTask calls, login, discovery, retries."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app as cli
from synapse_sdk.clients import AsyncBackendClient, BackendClient, RetryPolicy
from synapse_sdk.connect import create_backend_client
from synapse_sdk.exceptions import AuthenticationError, ClientConnectionError, ServerError

pytestmark = pytest.mark.integration


def _seed(client: BackendClient, name: str, n: int) -> dict[str, Any]:
    dc = client.data_collections.create(name, [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}])
    project = client.projects.create(name, data_collection=dc['id'])
    for i in range(n):
        ann = client.data_files.upload(json.dumps({'i': i}).encode(), f'{i}.json')
        img = client.data_files.upload(b'img', f'{i}.jpg')
        unit = client.data_units.create(
            dc['id'], {'image': {'file': img['id'], 'is_primary': True}, 'annotation_data': {'file': ann['id']}}
        )
        client.tasks.create(project['id'], data_unit=unit['id'])
    return project


def test_to_task_flow_over_http(local_backend: Any) -> None:
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        project = _seed(client, 'http-flow', 3)
        collection = client.get_data_collection(client.get_project(project['id'])['data_collection'])
        assert [s['name'] for s in collection['file_specifications']] == ['image', 'annotation_data']
        iterator, count = client.list_tasks({'project': project['id'], 'fields': 'id', 'page_size': 2}, list_all=True)
        ids = [t['id'] for t in iterator]
        assert count == 3 and len(ids) == 3
        for index, task_id in enumerate(ids):
            task = client.get_task(task_id, {'fields': 'id,data,data_unit', 'expand': 'data_unit'})
            url = task['data_unit']['files']['annotation_data']['url']
            assert url.startswith(local_backend.base_url)
            data = client.download_json(url)
            assert data == {'i': index}
            assert client.annotate_task_data(task_id, {'converted': data}, schema='any')['data'] == {'converted': data}


def test_async_client_over_http(local_backend: Any) -> None:
    async def main() -> list[dict[str, Any]]:
        async with AsyncBackendClient(local_backend.base_url, local_backend.token) as client:
            project = await client.projects.create('async-flow')
            tasks = await asyncio.gather(*(client.tasks.create(project['id'], data={'n': n}) for n in range(5)))
            await asyncio.gather(*(client.annotate_task_data(t['id'], {'n': -t['data']['n']}) for t in tasks))
            return await client.list_tasks({'project': project['id']})

    listed = asyncio.run(main())
    assert sorted(t['data']['n'] for t in listed) == [-4, -3, -2, -1, 0]
    assert [t['id'] for t in listed] == sorted(t['id'] for t in listed)


def test_wrong_token_is_401_and_never_echoed(local_backend: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bad = 'not-the-token-' + local_backend.token[:8]
    with BackendClient(local_backend.base_url, bad) as client, pytest.raises(AuthenticationError) as info:
        client.list_tasks({})
    assert str(info.value).startswith(f'401: Invalid token. The backend at {local_backend.base_url} refused')
    assert 'synapse login --host' in str(info.value)
    assert bad not in caplog.text and bad not in repr(info.value.detail)


def test_login_verifies_then_saves_private_config(
    local_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path))
    runner = CliRunner()
    refused = runner.invoke(cli, ['login', '--host', local_backend.base_url, '--token', 'wrong-token-123'])
    assert refused.exit_code == 1
    assert 'The backend refused the token (Invalid token.); nothing was saved' in refused.output
    assert 'wrong-token-123' not in refused.output
    assert not (tmp_path / 'config.json').exists()

    (tmp_path / 'config.json').write_text(json.dumps({'agent': {'id': 1}}))
    ok = runner.invoke(cli, ['login', '--host', local_backend.base_url, '--token', local_backend.token])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / 'config.json').read_text()) == {
        'agent': {'id': 1},
        'host': local_backend.base_url,
        'access_token': local_backend.token,
    }
    assert oct(os.stat(tmp_path / 'config.json').st_mode & 0o777) == '0o600'
    monkeypatch.delenv('SYNAPSE_HOST', raising=False)
    monkeypatch.delenv('SYNAPSE_ACCESS_TOKEN', raising=False)
    client = create_backend_client()
    assert client is not None and client.base_url == local_backend.base_url
    with client:
        assert client.agents.list()[0]['url'] == f'{local_backend.base_url}agent/'  # the local agent's API


def test_default_client_uses_a_recorded_running_server(
    local_backend: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from synapse_sdk.local.setup import write_private_file

    for name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(local_backend.state_dir))
    record = local_backend.state_dir / 'server.json'
    write_private_file(record, json.dumps({'url': local_backend.base_url, 'pid': os.getpid()}))
    try:
        client = create_backend_client()
        assert client is not None and client.base_url == local_backend.base_url
        with client:
            assert client.storages.list()[0]['name'] == 'local'
    finally:
        record.unlink()
    in_process = create_backend_client()
    assert in_process is not None and in_process.base_url == 'http://synapse.local/'
    in_process.close()


def test_the_local_token_goes_only_to_the_local_backend(
    local_backend: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from synapse_sdk.local.setup import write_private_file

    monkeypatch.delenv('SYNAPSE_ACCESS_TOKEN', raising=False)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(local_backend.state_dir))
    record = local_backend.state_dir / 'server.json'
    write_private_file(record, json.dumps({'url': local_backend.base_url, 'pid': os.getpid()}))
    try:
        monkeypatch.setenv('SYNAPSE_HOST', 'https://api.example.com')
        assert create_backend_client() is None  # a remote host never gets the local token
        monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url.rstrip('/'))  # the running local server
        client = create_backend_client()
        assert client is not None and client.base_url == local_backend.base_url
        with client:
            assert client.storages.list()[0]['name'] == 'local'  # authenticated with the local token
    finally:
        record.unlink()


class FlakyApp:
    """Answers 503 to the first ``failures`` requests, then 200 ``{"ok": true}``."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            return
        self.calls += 1
        status, body = (503, b'{"detail": "busy"}') if self.calls <= self.failures else (200, b'{"ok": true}')
        await send(
            {'type': 'http.response.start', 'status': status, 'headers': [(b'content-type', b'application/json')]}
        )
        await send({'type': 'http.response.body', 'body': body})


def test_retries_against_a_real_failing_server(asgi_server: Any) -> None:
    flaky = FlakyApp(failures=2)
    with asgi_server(flaky) as url:
        client = BackendClient(url, 'token-abcdef', retry=RetryPolicy(attempts=3, backoff=0.01))
        with client:
            assert client.get_project(1) == {'ok': True}
            assert flaky.calls == 3
            flaky.calls = 0
            with pytest.raises(ServerError, match=r'^503: busy$'):
                client.run_plugin('p', {'agent': 1, 'action': 'deployment'})
            assert flaky.calls == 1


def test_connection_refused_is_retried_then_reported() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    client = BackendClient(f'http://127.0.0.1:{port}/', 'token-abcdef', retry=RetryPolicy(attempts=2, backoff=0.01))
    with pytest.raises(
        ClientConnectionError, match=rf'^0: Could not connect \(ConnectError\): GET 127.0.0.1:{port}/tasks/1/$'
    ):
        client.get_task(1)


def test_in_process_sync_client_serves_many_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from synapse_sdk.local.connect import connect_local

    with connect_local(tmp_path / 'state', in_process=True) as client:
        project = client.projects.create('in-process')

        def work(n: int) -> tuple[int, dict[str, int]]:
            task = client.tasks.create(project['id'], data={'n': n})
            return task['id'], client.annotate_task_data(task['id'], {'n': n * 10})['data']

        with ThreadPoolExecutor(20) as pool:
            written = dict(pool.map(work, range(100)))
        stored = {t['id']: t['data'] for t in client.list_tasks({'project': project['id']})}
    assert stored == written
    assert sorted(d['n'] for d in stored.values()) == [n * 10 for n in range(100)]
