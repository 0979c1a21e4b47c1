"""Settings shared by every test: the user's real home and credentials never leak into the suite.

``HOME`` points at one temporary folder for the whole session (Ray keeps its auth token there,
so it must not change between tests); each test gets its own state and config folders.
"""

import os
import tempfile

import pytest

_SESSION_HOME = tempfile.mkdtemp(prefix='synapse-test-home-')
os.environ['HOME'] = _SESSION_HOME
os.environ['RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'] = '0'
for _name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path_factory.mktemp('state')
    monkeypatch.setenv('SYNAPSE_LOCAL_DIR', str(state / 'local'))
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(state / 'config'))
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(state / 'state'))
