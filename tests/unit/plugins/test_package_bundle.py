"""A bundle of `synapse plugin package` as the runners see it: unpacked once, installed with ``--no-index``."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from tests.unit.plugins.package_helpers import files_under, make_wheel, offline_plugin

from synapse_sdk.enums import PackageManager
from synapse_sdk.exceptions import PluginError
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.bundle import bundle_cache_root, is_bundle, unpacked_bundle
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.executors.ray._packaging import build_archive
from synapse_sdk.plugins.executors.ray._runtime_env import WORKING_DIR_VAR, PluginRuntime
from synapse_sdk.plugins.package import build_bundle
from synapse_sdk.plugins.runner import run_plugin

WHEEL = 'synapse_probe-1.0-py3-none-any.whl'


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))
    return tmp_path / 'state'


@pytest.fixture(scope='module')
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp('bundle')
    make_wheel(base / 'index', 'synapse_probe', '1.0')
    return build_bundle(offline_plugin(base / 'hi', base / 'index'), base / 'out').path


def rewritten(bundle: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """A copy of ``bundle`` with some members' bytes replaced (or added)."""
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, 'w') as out:
        for info in source.infolist():
            out.writestr(info, replace.pop(info.filename, None) or source.read(info))
        for name, data in replace.items():
            out.writestr(name, data)
    return target


def test_a_bundle_unpacks_once_into_the_state_dir_with_its_wheels_in_the_plugin_folder(bundle: Path, state_dir: Path):
    folder = unpacked_bundle(bundle)
    assert folder.parent.parent == bundle_cache_root() == state_dir / 'bundles'
    assert files_under(folder) == [
        '_synapse_wheels',
        f'_synapse_wheels/{WHEEL}',
        'config.yaml',
        'plugin',
        'plugin/__init__.py',
        'plugin/hi.py',
        'requirements.txt',
    ]
    assert (folder.parent / 'synapse-bundle.json').is_file()
    (folder / 'marker').write_text('kept')  # a second run reuses the folder: nothing is unpacked again
    assert unpacked_bundle(bundle) == folder
    assert (folder / 'marker').read_text() == 'kept'
    assert [p.name for p in (state_dir / 'bundles').iterdir()] == [folder.parent.name]  # no staging left


def test_the_runtime_installs_from_the_shipped_wheels_with_no_index(bundle: Path):
    runtime = PluginRuntime.from_dir(bundle)
    assert runtime.plugin_dir == unpacked_bundle(bundle)
    assert runtime.offline_wheels == '_synapse_wheels'
    env = runtime.ray_runtime_env('gcs://_ray_pkg_x.zip', {'A': '1'})
    assert env['pip'] == {
        'packages': [
            f'--find-links {WORKING_DIR_VAR}/_synapse_wheels',
            '--no-index',
            f'--find-links {bundle.parent.parent / "index"}',
            'synapse_probe==1.0',
        ],
        'pip_install_options': ['--upgrade', '--no-index'],
    }
    # the wheels travel in the working dir Ray receives
    with zipfile.ZipFile(build_archive(runtime.plugin_dir, bundle.parent / 'archive')) as archive:
        assert f'_synapse_wheels/{WHEEL}' in archive.namelist()


def test_uv_gets_the_same_offline_install(bundle: Path):
    runtime = PluginRuntime.from_dir(bundle)
    runtime.package_manager = PackageManager.UV
    runtime.package_manager_options = ['--no-cache', '--no-index']
    env = runtime.ray_runtime_env(None, {})
    assert env['uv']['packages'][0] == f'--find-links {WORKING_DIR_VAR}/_synapse_wheels'
    assert env['uv']['uv_pip_install_options'] == ['--no-cache', '--no-index']  # not added twice


def test_a_plain_plugin_folder_is_not_offline(tmp_path: Path):
    plugin = offline_plugin(tmp_path / 'hi', tmp_path / 'index')
    (plugin / '_synapse_wheels').mkdir()  # without a bundle manifest next to the folder, it means nothing
    runtime = PluginRuntime.from_dir(plugin)
    assert runtime.offline_wheels is None
    assert runtime.ray_runtime_env(None, {})['pip']['pip_install_options'] == ['--upgrade']


def test_discovery_and_run_plugin_accept_a_bundle_path(bundle: Path):
    discovery = PluginDiscovery.load(str(bundle))
    assert discovery.path == unpacked_bundle(bundle)
    assert discovery.list_actions() == ['greet']
    result = run_plugin(str(bundle), 'greet', {'name': 'Ada'}, logger_factory=NoOpLogger)
    assert result == {'message': 'Hi Ada'}


def test_a_zip_that_is_not_a_bundle_is_refused_by_name(tmp_path: Path):
    other = tmp_path / 'plugin.zip'
    with zipfile.ZipFile(other, 'w') as archive:
        archive.writestr('config.yaml', 'name: x\n')
    assert not is_bundle(other)
    with pytest.raises(
        PluginError, match=r'^bundle plugin\.zip is not a plugin bundle: it has no synapse-bundle\.json'
    ):
        PluginDiscovery.load(str(other))


def test_a_changed_wheel_is_refused_and_nothing_is_left_unpacked(bundle: Path, tmp_path: Path, state_dir: Path):
    tampered = rewritten(bundle, tmp_path / 'tampered.synapse.zip', {f'wheels/{WHEEL}': b'not the wheel'})
    with pytest.raises(PluginError, match=rf'wheels/{WHEEL} does not match the sha256 in synapse-bundle\.json'):
        unpacked_bundle(tampered)
    assert files_under(state_dir / 'bundles') == []


@pytest.mark.parametrize(
    ('member', 'message'),
    [
        ('../escape.txt', r"has a member outside its folder: '\.\./escape\.txt'"),
        ('wheels/extra-1.0-py3-none-any.whl', r"unexpected member 'wheels/extra-1\.0-py3-none-any\.whl'"),
        ('plugin/_synapse_wheels/x.whl', r'uses the reserved folder _synapse_wheels/'),
    ],
)
def test_members_a_bundle_cannot_hold_are_refused(bundle: Path, tmp_path: Path, state_dir: Path, member, message):
    bad = rewritten(bundle, tmp_path / 'bad.synapse.zip', {member: b'x'})
    with pytest.raises(PluginError, match=message):
        unpacked_bundle(bad)
    assert files_under(state_dir / 'bundles') == []
    assert not (tmp_path / 'escape.txt').exists()


def test_a_bundle_over_the_download_limit_is_refused_before_it_is_read(bundle: Path, monkeypatch):
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES', '100')
    size = bundle.stat().st_size
    with pytest.raises(PluginError) as info:
        unpacked_bundle(bundle)
    assert str(info.value) == (
        f'bundle {bundle.name} is {size} bytes (limit 100); set SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES to raise it'
    )


def test_a_bad_manifest_names_the_field(bundle: Path, tmp_path: Path):
    bad = rewritten(bundle, tmp_path / 'bad.synapse.zip', {'synapse-bundle.json': b'{"format": 2}'})
    with pytest.raises(PluginError) as info:
        unpacked_bundle(bad)
    assert str(info.value).startswith('bundle bad.synapse.zip: synapse-bundle.json is not a bundle manifest (format: ')
    assert 'code: Field required' in str(info.value)
    assert str(info.value).endswith('; package the plugin again')


def test_a_copy_elsewhere_with_the_same_content_shares_the_unpacked_folder(bundle: Path, tmp_path: Path):
    copy = shutil.copy(bundle, tmp_path / 'copy.synapse.zip')
    assert unpacked_bundle(copy) == unpacked_bundle(bundle)
