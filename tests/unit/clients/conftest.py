from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path / 'config'))
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(tmp_path / 'local'))
