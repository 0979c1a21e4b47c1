from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.local.connect import connect_local


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path / 'config'))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(tmp_path / 'local'))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[BackendClient]:
    """A sync client of an in-process backend over a fresh state directory."""
    with connect_local(tmp_path / 'local', in_process=True) as c:
        yield c


@pytest.fixture
def project(client: BackendClient) -> dict:
    dc = client.data_collections.create('dc', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}])
    return client.projects.create('p', data_collection=dc['id'])
