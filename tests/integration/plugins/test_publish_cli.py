"""`synapse plugin publish` against the real local backend over HTTP; the release then runs by its code."""

import io
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synapse_sdk.cli.app import app
from synapse_sdk.clients.backend.client import BackendClient
from synapse_sdk.exceptions import NotFoundError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.runner import run_plugin

pytestmark = pytest.mark.integration

HELLO = Path(__file__).resolve().parents[3] / 'examples' / 'hello-plugin'


@pytest.fixture
def hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_backend) -> tuple[Path, str]:
    """A copy of examples/hello-plugin under a code of its own (the backend is shared by the session)."""
    code = f'hello-{uuid.uuid4().hex[:8]}'
    root = tmp_path / 'hello'
    shutil.copytree(HELLO, root, ignore=shutil.ignore_patterns('__pycache__'))
    config = root / 'config.yaml'
    config.write_text(config.read_text().replace('code: hello\n', f'code: {code}\n'))
    (root / '.env').write_text('SYNAPSE_ACCESS_TOKEN=never-shipped\n')
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    monkeypatch.chdir(tmp_path)  # the code can only come from the backend
    return root, code


def publish(root: Path, *args: str):
    return CliRunner().invoke(app, ['plugin', 'publish', '--path', str(root), *args])


def test_a_published_plugin_is_the_whole_config_and_runs_by_its_code(hello, local_backend):
    root, code = hello
    result = publish(root)
    assert result.exit_code == 0, result.output
    host = local_backend.base_url.rstrip('/')
    first, second = result.stdout.splitlines()
    assert first.startswith(f'Publishing {code}@0.1.0: 3 files, ')
    assert second.startswith(f'Published {code}@0.1.0 as release ')
    assert second.endswith(f' to {host}')
    assert local_backend.token not in result.output

    release_id = int(second.split(' as release ')[1].split()[0])
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        release = client.plugin_releases.get(f'{code}@0.1.0')
        archive = client.data_files.download(release['file'])
    assert release['id'] == release_id
    assert release['config'] == yaml.safe_load((root / 'config.yaml').read_text())
    with zipfile.ZipFile(io.BytesIO(bytes(archive))) as zf:
        assert zf.namelist() == ['config.yaml', 'plugin/__init__.py', 'plugin/actions.py']

    greeting = run_plugin(code, 'greet', {'name': 'Ada'}, logger_factory=MemoryLogger)
    assert greeting.model_dump() == {'message': 'Hello Ada!'}
    counted = run_plugin(f'{code}@0.1.0', 'count', {'upto': 10}, logger_factory=MemoryLogger)
    assert counted['counted'] == 10


def test_publishing_a_version_again_is_refused_and_the_release_is_kept(hello, local_backend):
    root, code = hello
    assert publish(root).exit_code == 0
    (root / 'plugin' / 'actions.py').write_text(
        (root / 'plugin' / 'actions.py').read_text().replace('"Hello"', '"Howdy"')
    )
    again = publish(root)
    assert again.exit_code == 1
    host = local_backend.base_url.rstrip('/')
    assert again.stderr == (
        f'Error: {code}@0.1.0 is already published on {host} and a release cannot be replaced; '
        'bump version in config.yaml and publish again\n'
    )
    assert run_plugin(code, 'greet', {}, logger_factory=MemoryLogger).model_dump() == {'message': 'Hello world!'}

    config = root / 'config.yaml'
    config.write_text(config.read_text().replace('version: 0.1.0', 'version: 0.2.0'))
    assert publish(root).exit_code == 0
    assert run_plugin(code, 'greet', {}, logger_factory=MemoryLogger).model_dump() == {'message': 'Howdy world!'}


def test_a_dry_run_uploads_nothing(hello, local_backend):
    root, code = hello
    result = publish(root, '--dry-run')
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Left out (1):\n  .env: built-in default '.env'\nDry run: nothing was uploaded.\n")
    with BackendClient(local_backend.base_url, local_backend.token) as client, pytest.raises(NotFoundError):
        client.plugins.get(code)
