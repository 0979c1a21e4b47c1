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


def _build_once() -> None:
    """typer's CliRunner turns the Typer app into a click command on every ``invoke`` (~25 ms for ours).

    The command is the same each time, so the suite builds it once per app (a test-harness seam of typer's,
    not of ours: the command that runs is exactly the one ``synapse`` runs).
    """
    import typer.main
    import typer.testing

    built: dict[int, tuple[object, object]] = {}

    def get_command(app: typer.Typer) -> object:
        entry = built.get(id(app))
        if entry is None or entry[0] is not app:
            entry = built[id(app)] = (app, typer.main.get_command(app))
        return entry[1]

    typer.testing._get_command = get_command  # type: ignore[attr-defined]


_build_once()
