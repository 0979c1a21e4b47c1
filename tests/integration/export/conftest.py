"""Pre-annotated projects on the real local backend: PNG images, tasks and assignments with bounding boxes."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.integration.fault_proxy import FaultProxy
from tests.support.clients import close_clients  # noqa: F401 - an autouse fixture
from tests.support.clients import make_client as _tracked

from synapse_sdk.clients import BackendClient

_NAMES = itertools.count(1)

CLASSES = ('car', 'person')


def make_client(base_url: str, token: str) -> BackendClient:
    return _tracked(base_url, token, attempts=2, max_backoff=0.02)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))


def png(width: int, height: int, shade: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new('RGB', (width, height), (shade, 128, 255 - shade)).save(buffer, format='PNG')
    return buffer.getvalue()


def boxes_of(i: int) -> list[dict[str, Any]]:
    """Task-object annotations of item ``i``: one or two boxes, geometry inline under ``data``."""
    out = [
        {
            'id': f'b{i}a',
            'tool': 'bounding_box',
            'classification': {'class': CLASSES[i % 2]},
            'data': {'x': 4 + i, 'y': 6, 'width': 20, 'height': 10 + i},
        }
    ]
    if i % 2:
        out.append(
            {
                'id': f'b{i}b',
                'tool': 'bounding_box',
                'classification': {'class': 'person'},
                'data': {'x': 30, 'y': 20, 'width': 8, 'height': 9},
            }
        )
    return out


@dataclass
class Project:
    id: int
    task_ids: list[int] = field(default_factory=list)
    assignment_ids: list[int] = field(default_factory=list)
    file_ids: list[int] = field(default_factory=list)
    boxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  #: image file name → its boxes


def build_project(client: BackendClient, count: int, *, with_media: bool = True) -> Project:
    """``count`` tasks whose data holds boxes (task-object form), each with one assignment of the same data."""
    name = f'export-{next(_NAMES)}'
    collection = client.data_collections.create(f'{name}-dc', [{'name': 'image', 'is_primary': True}])
    project = client.projects.create(name, data_collection=collection['id'])
    result = Project(project['id'])
    for i in range(count):
        data = {'annotations': {'image_1': boxes_of(i)}}
        unit_id = None
        if with_media:
            uploaded = client.data_files.upload(png(64, 48, i * 20 % 255), f'photo{i}.png')
            result.file_ids.append(uploaded['id'])
            unit_id = client.data_units.create(
                collection['id'], {'image': {'file': uploaded['id'], 'is_primary': True}}, key=f'photo{i}'
            )['id']
        task = client.tasks.create(project['id'], data_unit=unit_id, data=data)
        result.task_ids.append(task['id'])
        result.assignment_ids.append(client.assignments.create(task['id'], user=7, data=data)['id'])
        result.boxes[f'photo{i}'] = boxes_of(i)
    return result


@pytest.fixture
def client(local_backend) -> BackendClient:
    return make_client(local_backend.base_url, local_backend.token)


@pytest.fixture
def proxy(local_backend, asgi_server) -> Iterator[tuple[FaultProxy, str]]:
    fault_proxy = FaultProxy(local_backend.base_url)
    with asgi_server(fault_proxy) as url:
        yield fault_proxy, url
        fault_proxy.close()
