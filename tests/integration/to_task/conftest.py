"""Projects on the real local backend, built through the public client API."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.integration.fault_proxy import FaultProxy
from tests.support.clients import close_clients  # noqa: F401 - an autouse fixture
from tests.support.clients import make_client as _tracked

from synapse_sdk.clients import BackendClient


@dataclass
class Project:
    id: int
    task_ids: list[int]
    expected: dict[int, dict[str, Any]] = field(default_factory=dict)  # task id -> data a good run writes


_NAMES = itertools.count(1)


def make_client(base_url: str, token: str) -> BackendClient:
    """A client with fast retries; closed after the test."""
    return _tracked(base_url, token)


def build_project(
    client: BackendClient, count: int, annotation: Callable[[int], bytes | None], *, name: str = 'p'
) -> Project:
    """``count`` tasks, each with an image and (unless ``annotation(i)`` is None) an annotation file."""
    name = f'{name}-{next(_NAMES)}'
    collection = client.data_collections.create(
        f'{name}-collection', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    )
    project = client.projects.create(name, data_collection=collection['id'])
    result = Project(project['id'], [])
    for i in range(count):
        image = client.data_files.upload(b'\xff\xd8fake-jpeg', f'img{i}.jpg')
        files = {'image': {'file': image['id'], 'is_primary': True}}
        content = annotation(i)
        if content is not None:
            ann = client.data_files.upload(content, f'img{i}.json')
            files['annotation_data'] = {'file': ann['id']}
            try:
                parsed = json.loads(content)
            except ValueError:
                parsed = None
        unit = client.data_units.create(collection['id'], files, key=f'img{i}')
        task = client.tasks.create(project['id'], data_unit=unit['id'])
        result.task_ids.append(task['id'])
        if content is not None and isinstance(parsed, dict):
            result.expected[task['id']] = parsed
    return result


@pytest.fixture
def proxy(local_backend, asgi_server) -> Iterator[tuple[FaultProxy, str]]:
    fault_proxy = FaultProxy(local_backend.base_url)
    with asgi_server(fault_proxy) as url:
        yield fault_proxy, url
        fault_proxy.close()


@pytest.fixture(autouse=True)
def _ledger_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))
