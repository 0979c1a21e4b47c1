"""Pipeline unit tests: a fresh in-process local backend per test (no sockets)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path / 'config'))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(tmp_path / 'local'))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[object]:
    from synapse_sdk.local.connect import connect_local

    with connect_local(tmp_path / 'local', in_process=True) as c:
        yield c
