"""50 concurrent clients doing mixed reads and writes lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from synapse_sdk.clients import BackendClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 50
TASKS_EACH = 6


def _worker(backend: Any, project_id: int, worker: int) -> dict[int, dict[str, Any]]:
    written: dict[int, dict[str, Any]] = {}
    with BackendClient(backend.base_url, backend.token) as client:
        for n in range(TASKS_EACH):
            task = client.tasks.create(project_id, data={'worker': worker, 'n': n})
            client.list_tasks({'project': project_id, 'fields': 'id', 'page_size': 50}, list_all=True)
            final = {'worker': worker, 'n': n, 'annotated': True}
            assert client.annotate_task_data(task['id'], final)['data'] == final
            assert client.get_task(task['id'])['data'] == final
            client.create_logs({'event': 'w', 'data': {'worker': worker}, 'datetime': '2025-01-01T00:00:00Z'})
            written[task['id']] = final
    return written


def test_fifty_concurrent_clients_lose_nothing(local_backend: Any) -> None:
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        project = client.projects.create('concurrency')
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda w: _worker(local_backend, project['id'], w), range(CLIENTS)))
    expected = {task_id: data for written in results for task_id, data in written.items()}
    assert len(expected) == CLIENTS * TASKS_EACH
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        iterator, count = client.list_tasks({'project': project['id']}, list_all=True)
        stored = {task['id']: task['data'] for task in iterator}
    assert count == CLIENTS * TASKS_EACH
    assert stored == expected
