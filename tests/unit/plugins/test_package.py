"""`synapse plugin package`: the bundle it writes, and the plugins it refuses before writing anything."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import typer
from tests.unit.plugins.package_helpers import config, files_under, make_wheel, offline_plugin, write
from typer.testing import CliRunner

from synapse_sdk.cli import plugin_package
from synapse_sdk.exceptions import ConfigError, PluginError
from synapse_sdk.plugins.bundle import BundleManifest
from synapse_sdk.plugins.package import build_bundle
from synapse_sdk.plugins.publish import prepare_release


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A folder pip downloads from (``--no-index --find-links``): no network."""
    folder = tmp_path / 'index'
    make_wheel(folder, 'synapse_probe', '1.0')
    return folder


@pytest.fixture
def plugin(tmp_path: Path, index: Path) -> Path:
    return offline_plugin(tmp_path / 'hi', index)


def refused(plugin: Path, out: Path) -> list[str]:
    """The problems of a plugin that cannot be packaged; nothing may have been written to ``out``."""
    with pytest.raises(PluginError) as info:
        build_bundle(plugin, out)
    problems = info.value.details['problems']
    count = f'{len(problems)} problem' + ('s' if len(problems) > 1 else '')
    assert str(info.value) == f'Cannot package {info.value.details["release"]} ({count}):\n' + '\n'.join(problems)
    assert not out.exists()
    return list(problems)


# --------------------------------------------------------------------------- the bundle


def test_the_bundle_holds_the_published_files_the_wheels_and_a_manifest(plugin: Path, index: Path, tmp_path: Path):
    bundle = build_bundle(plugin, tmp_path / 'out')
    assert bundle.path == (tmp_path / 'out' / 'hi-1.0.0.synapse.zip').resolve()
    assert files_under(tmp_path / 'out') == ['hi-1.0.0.synapse.zip']  # no temporary file left behind
    data = bundle.path.read_bytes()
    assert (bundle.size, bundle.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    release = prepare_release(plugin)
    wheel = (index / 'synapse_probe-1.0-py3-none-any.whl').read_bytes()
    with zipfile.ZipFile(bundle.path) as archive, zipfile.ZipFile(io.BytesIO(release.archive)) as published:
        assert archive.namelist() == [
            'synapse-bundle.json',
            *(f'plugin/{name}' for name in published.namelist()),
            'wheels/synapse_probe-1.0-py3-none-any.whl',
        ]
        assert published.namelist() == ['config.yaml', 'plugin/__init__.py', 'plugin/hi.py', 'requirements.txt']
        assert all(archive.read(f'plugin/{name}') == published.read(name) for name in published.namelist())
        assert archive.read('wheels/synapse_probe-1.0-py3-none-any.whl') == wheel
        manifest = json.loads(archive.read('synapse-bundle.json'))
    assert (
        manifest
        == {
            'format': 1,
            'code': 'hi',
            'version': '1.0.0',
            'python': f'cp{sys.version_info[0]}{sys.version_info[1]}',  # the tests run on CPython
            'python_version': '.'.join(map(str, sys.version_info[:3])),
            'platform': sysconfig.get_platform(),
            'plugin_sha256': release.sha256,
            'requirements': ['--no-index', f'--find-links {index}', 'synapse_probe==1.0'],
            'wheels': [
                {
                    'file': 'synapse_probe-1.0-py3-none-any.whl',
                    'sha256': hashlib.sha256(wheel).hexdigest(),
                    'size': len(wheel),
                }
            ],
        }
    )
    assert bundle.manifest == BundleManifest.model_validate(manifest)


def test_the_same_plugin_packages_to_the_same_bytes(plugin: Path, tmp_path: Path):
    first = build_bundle(plugin, tmp_path / 'a')
    second = build_bundle(plugin, tmp_path / 'b')
    assert first.sha256 == second.sha256


def test_a_bundle_written_into_the_plugin_folder_is_never_packaged_again(plugin: Path):
    first = build_bundle(plugin, plugin)
    second = build_bundle(plugin, plugin)
    assert first.path == second.path == (plugin / 'hi-1.0.0.synapse.zip').resolve()
    assert second.sha256 == first.sha256
    with zipfile.ZipFile(second.path) as archive:
        assert 'plugin/hi-1.0.0.synapse.zip' not in archive.namelist()
    assert (
        prepare_release(plugin).manifest.exclusion('hi-1.0.0.synapse.zip').reason == "built-in default '*.synapse.zip'"
    )


def test_a_plugin_without_requirements_is_a_bundle_without_wheels(tmp_path: Path, monkeypatch):
    root = write(tmp_path / 'hi', {'config.yaml': config(), 'plugin/__init__.py': '', 'plugin/hi.py': GREET_LINE})
    monkeypatch.chdir(tmp_path)
    bundle = build_bundle(root)  # into the current folder
    assert bundle.path == (tmp_path / 'hi-1.0.0.synapse.zip').resolve()
    assert (bundle.manifest.requirements, bundle.manifest.wheels) == ([], [])


GREET_LINE = 'from synapse_sdk.plugins import action\n\n\n@action\ndef greet(params, ctx):\n    return {}\n'


# --------------------------------------------------------------------------- refused, nothing written


def test_a_version_that_is_not_semantic_is_refused(plugin: Path, tmp_path: Path):
    (plugin / 'config.yaml').write_text(config("'1.0'"))
    assert refused(plugin, tmp_path / 'out') == [
        "version '1.0' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
        "e.g. 1.0.0 or 1.0.0-rc.1); fix: set version: '1.0.0' in config.yaml"
    ]


def test_an_entrypoint_that_does_not_import_is_refused_with_every_other_problem(plugin: Path, tmp_path: Path):
    (plugin / 'config.yaml').write_text(
        config('v2', '  greet:\n    entrypoint: plugin.hi:greet\n  bad:\n    entrypoint: plugin.gone:run\n')
    )
    problems = refused(plugin, tmp_path / 'out')
    assert len(problems) == 2
    assert problems[0].startswith("version 'v2' is not a semantic version")
    assert problems[1] == (
        "action 'bad': entrypoint 'plugin.gone.run': module 'plugin.gone' not found in "
        f'{plugin.resolve()}; fix: create plugin/gone.py (or plugin/gone/__init__.py) or correct the entrypoint'
    )


def test_plugin_files_over_the_size_limit_are_refused_before_any_download(plugin: Path, tmp_path: Path, monkeypatch):
    write(plugin, {'data/table.csv': 'x' * 5000})
    (plugin / 'requirements.txt').write_text('--no-index\nsynapse-not-downloaded==1.0\n')  # never reached
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES', '4096')
    [problem] = refused(plugin, tmp_path / 'out')
    assert problem.startswith('the files to ship add up to 5.')
    assert 'the largest: data/table.csv (4.9 KiB)' in problem
    assert problem.endswith('or set SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES to raise the limit (where it runs too)')


def test_wheels_that_push_the_bundle_over_the_size_limit_are_refused(tmp_path: Path, monkeypatch):
    index = tmp_path / 'big-index'
    make_wheel(index, 'synapse_big', '2.0', padding=64 * 1024)
    plugin = offline_plugin(tmp_path / 'hi', index, 'synapse_big')
    assert len(prepare_release(plugin).archive) < 16 * 1024  # the plugin alone is within the limit
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES', str(16 * 1024))
    [problem] = refused(plugin, tmp_path / 'out')
    assert problem.startswith('the bundle would be 6')
    assert problem.endswith(
        '(limit 16.0 KiB); fix: leave large files out with .synapseignore, trim requirements.txt, '
        'or set SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES to raise the limit (where it runs too)'
    )


def test_wheels_over_the_unpacked_limit_are_refused_naming_the_largest(tmp_path: Path, monkeypatch):
    index = tmp_path / 'big-index'
    make_wheel(index, 'synapse_big', '2.0', padding=64 * 1024)
    plugin = offline_plugin(tmp_path / 'hi', index, 'synapse_big')
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES', str(32 * 1024))
    [problem] = refused(plugin, tmp_path / 'out')
    assert problem.startswith('the bundle would unpack to 6')
    assert ', the largest wheels: wheels/synapse_big-2.0-py3-none-any.whl (6' in problem


def test_a_requirement_pip_cannot_download_is_refused_with_pip_s_reason(plugin: Path, tmp_path: Path):
    (plugin / 'requirements.txt').write_text(
        '--index-url https://user:hunter2secret@127.0.0.1:9/simple\n--no-index\nsynapse-nowhere==9.9\n'
    )
    [problem] = refused(plugin, tmp_path / 'out')
    assert problem.startswith('pip download of requirements.txt failed (exit 1): ')
    assert 'No matching distribution found for synapse-nowhere==9.9' in problem
    assert 'hunter2secret' not in problem


def test_a_bad_requirements_line_is_named(plugin: Path, tmp_path: Path):
    (plugin / 'requirements.txt').write_text('numpy>>=1.26\n')
    with pytest.raises(ConfigError, match=r"^requirements\.txt line 1: 'numpy>>=1\.26' is not a valid requirement"):
        build_bundle(plugin, tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def test_a_synapseignore_that_would_leave_the_wheels_behind_is_refused(plugin: Path, tmp_path: Path):
    (plugin / '.synapseignore').write_text('*.whl\n')
    assert refused(plugin, tmp_path / 'out') == [
        '.synapseignore leaves out _synapse_wheels/ (where the bundle keeps its wheels, so they travel with the '
        "plugin); fix: add '!_synapse_wheels/' and '!_synapse_wheels/*.whl' at the end of .synapseignore"
    ]


def test_the_reserved_wheel_folder_is_refused(plugin: Path, tmp_path: Path):
    write(plugin, {'_synapse_wheels/old.txt': ''})
    assert refused(plugin, tmp_path / 'out') == [
        f'_synapse_wheels is reserved for the wheels of a bundle; fix: rename {plugin.resolve() / "_synapse_wheels"}'
    ]


# --------------------------------------------------------------------------- the command


@pytest.fixture
def cli() -> typer.Typer:
    group = typer.Typer()
    plugin_package.register(group)
    group.callback()(lambda: None)  # a group, so the command is called by its name
    return group


def test_the_command_writes_the_bundle_and_says_how_to_run_it(cli, plugin: Path, tmp_path: Path):
    result = CliRunner().invoke(cli, ['package', '--path', str(plugin), '-o', str(tmp_path / 'out')])
    assert result.exit_code == 0, result.output
    target = (tmp_path / 'out' / 'hi-1.0.0.synapse.zip').resolve()
    lines = result.output.splitlines()
    assert lines[0].startswith(f'Packaged hi@1.0.0: {target} (')
    assert lines[0].endswith(
        f'1 wheel for {BundleManifest.model_validate_json(_manifest(target)).python} on {sysconfig.get_platform()})'
    )
    assert lines[1].strip().endswith('synapse_probe-1.0-py3-none-any.whl')
    assert lines[2] == f'Run it offline: synapse plugin run ACTION --mode job --path {target}'


def test_the_command_lists_every_problem_and_writes_nothing(cli, plugin: Path, tmp_path: Path):
    (plugin / 'config.yaml').write_text(config("'1.0'"))
    result = CliRunner().invoke(cli, ['package', '--path', str(plugin), '-o', str(tmp_path / 'out')])
    assert result.exit_code == 1
    assert result.stdout == ''
    assert result.stderr.startswith(
        "Error: cannot package hi@1.0 (1 problem); nothing was written:\n  version '1.0' is not a semantic version"
    )
    assert not (tmp_path / 'out').exists()


def _manifest(bundle: Path) -> bytes:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read('synapse-bundle.json')
