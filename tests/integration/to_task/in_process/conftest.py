"""ToTask unit fixtures: the real local backend in process (no sockets), one annotation file per task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.local.connect import connect_local
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.executors import LocalExecutor


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(tmp_path / 'local'))
    monkeypatch.delenv('SYNAPSE_TO_TASK_HTTP', raising=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[BackendClient]:
    """A client of an in-process local backend over a fresh state directory."""
    with connect_local(tmp_path / 'local', in_process=True, retry=RetryPolicy(attempts=1)) as c:
        yield c


def annotation(i: int) -> dict[str, Any]:
    return {'annotations': {'image_1': [{'id': f'a{i}', 'label': 'car'}]}, 'index': i}


def make_project(client: BackendClient, count: int) -> tuple[int, list[int]]:
    """A project of ``count`` tasks, each with an image and an annotation JSON; ``(project id, task ids)``."""
    collection = client.data_collections.create(
        'collection', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    )
    project = client.projects.create('project', data_collection=collection['id'])
    ids = []
    for i in range(count):
        image = client.data_files.upload(b'\xff\xd8image', f'img{i}.jpg')
        ann = client.data_files.upload(json.dumps(annotation(i)).encode(), f'img{i}.json')
        files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': ann['id']}}
        unit = client.data_units.create(collection['id'], files, key=f'img{i}')
        ids.append(client.tasks.create(project['id'], data_unit=unit['id'])['id'])
    return project['id'], ids


def run_to_task(
    client: BackendClient,
    project: int,
    action: type[ToTaskAction] = ToTaskAction,
    logger: MemoryLogger | None = None,
    **extra: Any,
) -> tuple[Any, MemoryLogger]:
    logger = logger or MemoryLogger()
    params = {'name': 'job', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data', **extra}
    result = LocalExecutor(client=client, logger_factory=lambda: logger).execute(action, params)
    return result, logger


def messages(logger: MemoryLogger, context: str | None = None) -> list[str]:
    """Message texts, optionally only those of one level (``info``, ``warning`` ...)."""
    return [e.data['content'] for e in logger.events('message') if context in (None, e.data['context'])]
