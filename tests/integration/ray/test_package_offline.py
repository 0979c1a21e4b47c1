"""A plugin packaged with `synapse plugin package` installs and runs as a Ray job with no package index."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli.app import app
from synapse_sdk.plugins.executors.ray import RayJobExecutor
from synapse_sdk.plugins.package import build_bundle

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

#: a port nothing listens on: any attempt to reach a package index fails at once
CLOSED_INDEX = 'http://127.0.0.1:9/'
OFFLINE_ENV = {'PIP_INDEX_URL': CLOSED_INDEX, 'PIP_NO_INDEX': '1'}
REQUIREMENT = 'tabulate==0.9.0'  # small, pure Python, and not installed in the test environment
ACTION = """from synapse_sdk.plugins import action


@action
def table(params, ctx):
    import tabulate

    rows = tabulate.tabulate([[1, 2]], headers=['a', 'b'], tablefmt='github')
    return {'table': rows, 'version': tabulate.__version__, 'file': tabulate.__file__}
"""
CONFIG = f"""name: Tables
code: tables
version: 1.0.0
package_manager_options: ['--disable-pip-version-check', '--index-url={CLOSED_INDEX}']
env: {json.dumps(OFFLINE_ENV)}
actions:
  table:
    entrypoint: plugin.tables:table
    method: job
"""


def _index_reachable() -> bool:
    """Packaging downloads the wheels: the index pip is configured with must answer."""
    url = urlsplit(os.environ.get('PIP_INDEX_URL') or 'https://pypi.org/simple')
    try:
        with socket.create_connection((url.hostname or 'pypi.org', url.port or 443), timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope='module')
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _index_reachable():
        pytest.skip('packaging needs the package index (PyPI) to download the wheels; it is not reachable')
    root = tmp_path_factory.mktemp('tables')
    plugin = root / 'plugin-src'
    (plugin / 'plugin').mkdir(parents=True)
    (plugin / 'config.yaml').write_text(CONFIG)
    (plugin / 'requirements.txt').write_text(f'{REQUIREMENT}\n')
    (plugin / 'plugin' / '__init__.py').write_text('')
    (plugin / 'plugin' / 'tables.py').write_text(ACTION)
    return build_bundle(plugin, root / 'out').path


def test_a_packaged_plugin_installs_and_runs_as_a_ray_job_with_no_index(ray_cluster, bundle, tmp_path, monkeypatch):
    # the job can only import the requirement from the bundle's wheels
    assert importlib.util.find_spec('tabulate') is None
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))
    executor = RayJobExecutor(ray_cluster.dashboard_url, bundle, env=OFFLINE_ENV)
    job_id = executor.submit('table', {})
    result = executor.wait(job_id, timeout_seconds=240)
    assert result['table'] == '|   a |   b |\n|-----|-----|\n|   1 |   2 |'
    assert result['version'] == '0.9.0'
    assert '/runtime_resources/pip/' in result['file']  # installed by Ray's pip, into the job's virtualenv

    runtime_env = executor.jobs.get_job_info(job_id).runtime_env
    pip = runtime_env['pip']  # (Ray adds its own keys, e.g. pip_check)
    assert pip['packages'] == ['--find-links ${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/_synapse_wheels', REQUIREMENT]
    assert pip['pip_install_options'] == ['--disable-pip-version-check', f'--index-url={CLOSED_INDEX}', '--no-index']
    assert {k: runtime_env['env_vars'][k] for k in OFFLINE_ENV} == OFFLINE_ENV

    # the same bundle from the command line: `synapse plugin run --mode job --path BUNDLE`
    ran = CliRunner().invoke(
        app,
        ['plugin', 'run', 'table', '--mode', 'job', '--path', str(bundle), '--ray-address', ray_cluster.dashboard_url],
    )
    assert ran.exit_code == 0, ran.output
    again = RayJobExecutor(ray_cluster.dashboard_url).wait(json.loads(ran.stdout), timeout_seconds=240)
    assert again == result
