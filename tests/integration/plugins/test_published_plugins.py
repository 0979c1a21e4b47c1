"""run_plugin('<code>'): a plugin published to the (in-process, real) local backend is fetched and cached."""

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import PluginError
from synapse_sdk.local.connect import connect_local
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.runner import run_plugin
from synapse_sdk.plugins.scaffold import PluginSpec, create_plugin

CONFIG = (
    'name: Remote Hi\ncode: remote-hi\nversion: {version}\nactions:\n  hello:\n    entrypoint: plugin.hello:hello\n'
)
ACTION = (
    'from synapse_sdk.plugins import action\n\n\n'
    '@action\ndef hello(params, ctx):\n    return {{"message": "{greeting} " + params.get("name", "world")}}\n'
)


def archive(files: dict[str, str], top: str = '') -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as zf:
        for name, text in files.items():
            zf.writestr(f'{top}{name}', text)
    return buffer.getvalue()


def plugin_files(version: str, greeting: str) -> dict[str, str]:
    return {
        'config.yaml': CONFIG.format(version=version),
        'plugin/__init__.py': '',
        'plugin/hello.py': ACTION.format(greeting=greeting),
    }


@pytest.fixture
def backend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing here: the code can only come from the backend
    with connect_local() as client:
        yield client


def publish(client, version: str, data: bytes | None, *, debug: bool = False) -> dict:
    return client.plugin_releases.publish('remote-hi', version, {'code': 'remote-hi'}, data, debug=debug)


def run(code: str, params: dict | None = None, **kwargs):
    return run_plugin(code, 'hello', params, logger_factory=MemoryLogger, **kwargs)


def cache_of(version: str) -> Path:
    found = list((Path(os.environ['SYNAPSE_STATE_DIR']) / 'plugins').glob(f'*/remote-hi/{version}'))
    assert len(found) == 1
    return found[0]


def test_a_published_plugin_runs_by_its_code_and_its_archive_is_cached(backend):
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')))
    assert run('remote-hi', {'name': 'Ada'}) == {'message': 'Hello Ada'}
    folder = cache_of('0.1.0')
    assert (folder / 'plugin' / 'hello.py').is_file()
    (folder / 'kept.txt').write_text('not unpacked again')
    assert run('remote-hi', {'name': 'Bo'}, client=backend) == {'message': 'Hello Bo'}
    assert (folder / 'kept.txt').read_text() == 'not unpacked again'


def test_the_newest_release_runs_unless_a_version_is_named(backend):
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')))
    publish(backend, '0.2.0', archive(plugin_files('0.2.0', 'Hi'), top='synapse-remote-hi-plugin/'))
    assert run('remote-hi') == {'message': 'Hi world'}
    assert run('remote-hi@0.1.0') == {'message': 'Hello world'}
    assert (cache_of('0.2.0') / 'synapse-remote-hi-plugin' / 'config.yaml').is_file()


def test_a_republished_debug_release_is_fetched_again(backend):
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')), debug=True)
    assert run('remote-hi') == {'message': 'Hello world'}
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Howdy')), debug=True)
    assert run('remote-hi') == {'message': 'Howdy world'}


def test_the_cli_runs_a_published_plugin_by_code(backend):
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')))
    result = CliRunner().invoke(app, ['plugin', 'run', 'hello', '--path', 'remote-hi', '--params', '{"name": "Cy"}'])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {'message': 'Hello Cy'}


def test_a_code_the_backend_does_not_know(backend, tmp_path):
    with pytest.raises(PluginError) as info:
        run('ghost-plugin')
    assert str(info.value) == (
        "Plugin 'ghost-plugin' not found: it is not a folder, a config.yaml, an importable module, "
        f'nor the code of the plugin in the current directory ({tmp_path}), '
        'nor a plugin published to the backend at http://synapse.local'
    )
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')))
    with pytest.raises(PluginError, match=r"^Plugin 'remote-hi@9.9.9' not found: .*nor a plugin published to"):
        run('remote-hi@9.9.9')


@pytest.mark.parametrize(
    ('data', 'message'),
    [
        (None, "Release remote-hi@0.1.0 on http://synapse.local has no archive; publish it with the plugin's files"),
        (b'not a zip', 'The archive of release remote-hi@0.1.0 is not a zip file'),
        (
            archive({'../escape.py': 'x = 1\n', 'config.yaml': CONFIG.format(version='0.1.0')}),
            "The archive of release remote-hi@0.1.0 has a member outside its folder: '../escape.py'",
        ),
        (
            archive({'plugin/hello.py': ACTION.format(greeting='Hi')}),
            'The archive of release remote-hi@0.1.0 has no config.yaml at its top level '
            '(nor in its one top-level folder)',
        ),
    ],
)
def test_releases_that_cannot_run_are_refused(backend, data, message, tmp_path):
    publish(backend, '0.1.0', data)
    with pytest.raises(PluginError) as info:
        run('remote-hi')
    assert str(info.value) == message
    assert not (tmp_path / 'escape.py').exists()
    assert [p for p in (Path(os.environ['SYNAPSE_STATE_DIR']) / 'plugins').rglob('*') if p.is_file()] == []


def test_a_plugin_with_no_release_yet(backend):
    backend.plugins.create('remote-hi', name='Remote Hi')
    with pytest.raises(PluginError) as info:
        run('remote-hi')
    assert str(info.value) == (
        "Plugin 'remote-hi' exists on http://synapse.local but has no release yet; publish one first"
    )


def test_a_scaffold_published_as_a_zip_runs_with_its_default_params(backend, tmp_path):
    folder = create_plugin(PluginSpec(name='Remote Hi', code='remote-hi'), tmp_path / 'src')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as zf:
        for path in folder.rglob('*'):
            if path.is_file():
                zf.write(path, path.relative_to(folder.parent))
    publish(backend, '0.1.0', buffer.getvalue())
    assert run_plugin('remote-hi', 'hello', None, logger_factory=MemoryLogger) == {'message': 'Hello world!'}


def bomb() -> bytes:
    """The plugin plus 2 MiB of zeros that deflate to about 2 KiB."""
    buffer = io.BytesIO(archive(plugin_files('0.1.0', 'Hello')))
    with zipfile.ZipFile(buffer, 'a', compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr('pad.bin', bytes(2 << 20))
    return buffer.getvalue()


def unpacked_size() -> int:
    return sum(len(text.encode()) for text in plugin_files('0.1.0', 'Hello').values()) + (2 << 20)


@pytest.mark.parametrize(
    ('name', 'value', 'message'),
    [
        (
            'SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES',
            '1024',
            'is too large to download (limit 1 KiB); set SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES to raise it',
        ),
        (
            'SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES',
            str(1 << 20),
            f'unpacks to {unpacked_size()} bytes (limit 1 MiB); set SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES to raise it',
        ),
        ('SYNAPSE_PLUGIN_MAX_MEMBERS', '3', 'has 4 members (limit 3); set SYNAPSE_PLUGIN_MAX_MEMBERS to raise it'),
    ],
    ids=['download', 'unpacked', 'members'],
)
def test_an_archive_over_a_limit_is_refused_before_unpacking(backend, monkeypatch, name, value, message):
    data = bomb()
    assert 1024 < len(data) < 16 * 1024
    publish(backend, '0.1.0', data)
    monkeypatch.setenv(name, value)
    with pytest.raises(PluginError) as info:
        run('remote-hi')
    assert (str(info.value), info.value.details) == (
        f'The archive of release remote-hi@0.1.0 {message}',
        {'release': 'remote-hi@0.1.0', 'limit': name},
    )
    assert [p for p in (Path(os.environ['SYNAPSE_STATE_DIR']) / 'plugins').rglob('*') if p.is_file()] == []
    monkeypatch.delenv(name)
    assert run('remote-hi') == {'message': 'Hello world'}  # within the defaults


def test_the_archive_limits_default_to_sizes_a_plugin_never_needs_and_bad_overrides_are_named(backend, monkeypatch):
    from synapse_sdk.plugins._remote import LIMITS

    assert LIMITS == {
        'download': ('SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES', 512 << 20),
        'unpacked': ('SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES', 2 << 30),
        'members': ('SYNAPSE_PLUGIN_MAX_MEMBERS', 20_000),
    }
    publish(backend, '0.1.0', archive(plugin_files('0.1.0', 'Hello')))
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_MEMBERS', 'lots')
    with pytest.raises(PluginError) as info:
        run('remote-hi')
    assert str(info.value) == (
        "SYNAPSE_PLUGIN_MAX_MEMBERS must be a positive whole number, got 'lots'; unset it to use the default (20000)"
    )
