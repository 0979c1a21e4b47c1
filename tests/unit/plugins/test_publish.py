"""Publishing: what ships and why the rest is left out, the checks a release must pass, the archive."""

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from tests.unit.plugins.package_helpers import GREET, config, write
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ConfigError, PluginError
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.publish import (
    ExcludedPath,
    ShippedFile,
    format_size,
    is_semver,
    plugin_manifest,
    prepare_release,
)
from synapse_sdk.plugins.runner import run_plugin

HELLO = Path(__file__).resolve().parents[3] / 'examples' / 'hello-plugin'


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    return write(tmp_path / 'hi', {'config.yaml': config(), 'plugin/__init__.py': '', 'plugin/hi.py': GREET})


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PluginError) as info:
        prepare_release(path)
    problems = info.value.details['problems']
    count = f'{len(problems)} problem' + ('s' if len(problems) > 1 else '')
    assert str(info.value) == f'Cannot publish {info.value.details["release"]} ({count}):\n' + '\n'.join(problems)
    return problems


# --------------------------------------------------------------------------- what ships


def test_the_manifest_lists_what_ships_and_names_the_rule_of_each_path_left_out(plugin: Path):
    write(
        plugin,
        {
            '.synapseignore': '# not shipped\ntests/\n*.log\n!keep.log\n/data/*.bin\n',
            '.env': 'TOKEN=abc\n',
            '.env.production': 'TOKEN=abc\n',
            'certs/server.pem': 'x',
            'deploy.key': 'x',
            '.synapse_params.json': '{}',
            '.git/HEAD': 'ref',
            '.git/config': '[core]',
            '.venv/lib/site.py': '',
            'plugin/__pycache__/hi.cpython-311.pyc': '',
            'tests/test_hi.py': '',
            'debug.log': '',
            'keep.log': 'kept',
            'data/weights.bin': '',
            'sub/data/weights.bin': 'ships: the rule is anchored at the root',
        },
    )
    (plugin / 'elsewhere').symlink_to(plugin.parent)
    (plugin / 'dangling.txt').symlink_to(plugin / 'missing')
    manifest = plugin_manifest(plugin)
    assert manifest.shipped == (
        ShippedFile('.synapseignore', 49),
        ShippedFile('config.yaml', len(config())),
        ShippedFile('keep.log', 4),
        ShippedFile('plugin/__init__.py', 0),
        ShippedFile('plugin/hi.py', len(GREET)),
        ShippedFile('sub/data/weights.bin', 39),
    )
    assert manifest.excluded == (
        ExcludedPath('.env', "built-in default '.env'"),
        ExcludedPath('.env.production', "built-in default '.env.*'"),
        ExcludedPath('.git/', "built-in default '.git/'", 2),
        ExcludedPath('.synapse_params.json', "built-in default '.synapse_params.json'"),
        ExcludedPath('.venv/', "built-in default '.venv/'", 1),
        ExcludedPath('certs/server.pem', "built-in default '*.pem'"),
        ExcludedPath('dangling.txt', 'not a regular file (a broken symbolic link, a socket, ...)'),
        ExcludedPath('data/weights.bin', ".synapseignore line 5: '/data/*.bin'"),
        ExcludedPath('debug.log', ".synapseignore line 3: '*.log'"),
        ExcludedPath('deploy.key', "built-in default '*.key'"),
        ExcludedPath('elsewhere/', 'a symbolic link to a folder (never followed)', 0),
        ExcludedPath('plugin/__pycache__/', "built-in default '__pycache__/'", 1),
        ExcludedPath('tests/', ".synapseignore line 2: 'tests/'", 1),
    )
    assert manifest.total_size == 49 + len(config()) + 4 + len(GREET) + 39


def test_the_archive_holds_exactly_the_shipped_files_with_config_yaml_at_its_top(plugin: Path):
    write(plugin, {'.env': 'TOKEN=abc\n', 'README.md': '# Hi\n'})
    release = prepare_release(plugin)
    with zipfile.ZipFile(io.BytesIO(release.archive)) as archive:
        assert archive.namelist() == [item.path for item in release.manifest.shipped]
        assert archive.namelist() == ['README.md', 'config.yaml', 'plugin/__init__.py', 'plugin/hi.py']
        assert archive.read('plugin/hi.py').decode() == GREET


def test_the_archive_is_deterministic(plugin: Path):
    first = prepare_release(plugin)
    os.utime(plugin / 'plugin' / 'hi.py', (1_000_000, 1_000_000))
    second = prepare_release(plugin)
    assert second.archive == first.archive
    assert second.sha256 == first.sha256
    (plugin / 'plugin' / 'hi.py').write_text(GREET + '# changed\n')
    assert prepare_release(plugin).archive != first.archive


def test_a_release_carries_the_whole_config_yaml(tmp_path: Path):
    text = (
        'name: Faces\ncode: faces\nversion: 2.1.0-rc.1+build.7\ncategory: neural_net\ndata_type: image\n'
        'env: {LOG_LEVEL: INFO}\nruntime_env: {pip: [numpy]}\n'
        'actions:\n'
        '  deployment:\n    entrypoint: plugin.deploy:Deploy\n    method: job\n'
        '    serve_options: {batch: {max_batch_size: 8}}\n'
        '  inference:\n    entrypoint: plugin.serve:FaceDetector\n    method: serve\n'
        '    required_resources: {required_cpu_count: 1, required_gpu_count: 0}\n'
    )
    deploy = 'from synapse_sdk.plugins import action\n\n\n@action\ndef Deploy(params, ctx):\n    return {}\n'
    serve = 'class FaceDetector:\n    """A Ray Serve deployment class: not an action, and it need not be."""\n'
    root = write(
        tmp_path / 'faces',
        {'config.yaml': text, 'plugin/__init__.py': '', 'plugin/deploy.py': deploy, 'plugin/serve.py': serve},
    )
    release = prepare_release(root)
    assert (release.code, release.version) == ('faces', '2.1.0-rc.1+build.7')
    assert release.config == yaml.safe_load(text)


def test_the_published_hello_plugin_runs_from_its_unpacked_archive(tmp_path: Path):
    release = prepare_release(HELLO)
    with zipfile.ZipFile(io.BytesIO(release.archive)) as archive:
        archive.extractall(tmp_path / 'unpacked')
    result = run_plugin(str(tmp_path / 'unpacked'), 'greet', {'name': 'Ada'}, logger_factory=NoOpLogger)
    assert result.model_dump() == {'message': 'Hello Ada!'}


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    'version', ['0.0.0', '1.0.0', '10.20.30', '1.0.0-rc.1', '1.0.0-alpha.beta.1', '1.0.0+build.5', '1.0.0-0.3.7+x']
)
def test_semantic_versions(version: str):
    assert is_semver(version)


@pytest.mark.parametrize('version', ['1.0', '1', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0-01', '1.0.0+', '1.0.0.0', ''])
def test_versions_that_are_not_semantic(version: str):
    assert not is_semver(version)


@pytest.mark.parametrize(
    ('version', 'problem'),
    [
        (
            "'v1.2'",
            "version 'v1.2' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
            "e.g. 1.0.0 or 1.0.0-rc.1); fix: set version: '1.2.0' in config.yaml",
        ),
        (
            '1.10',
            "version '1.1' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
            'e.g. 1.0.0 or 1.0.0-rc.1) (YAML reads it as the number 1.1: quote the version); '
            "fix: set version: '1.1.0' in config.yaml",
        ),
        (
            'latest',
            "version 'latest' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
            "e.g. 1.0.0 or 1.0.0-rc.1); fix: set version: '1.0.0' in config.yaml",
        ),
    ],
)
def test_a_version_that_is_not_semantic_is_refused_with_the_fix(plugin: Path, version: str, problem: str):
    (plugin / 'config.yaml').write_text(config(version))
    assert problems_of(plugin) == [problem]


def test_a_config_without_a_version_is_refused(plugin: Path):
    (plugin / 'config.yaml').write_text(config().replace('version: 1.0.0\n', ''))
    assert problems_of(plugin) == ["config.yaml has no version; fix: add 'version: 0.1.0' (MAJOR.MINOR.PATCH)"]


def test_every_bad_entrypoint_is_listed_at_once_one_line_each(plugin: Path):
    actions = {
        'greet': 'plugin.hi:greet',
        'gone': 'plugin.gone:Run',
        'typo': 'plugin.hi:gret',
        'plain': 'plugin.things:Plain',
        'func': 'plugin.things:helper',
        'broken': 'plugin.broken:Run',
        'needs': 'plugin.needs:Run',
        'exits': 'plugin.exits:Run',
        'served': 'plugin.things:Plain',
    }
    lines = ''.join(f'  {key}:\n    entrypoint: {ep}\n' for key, ep in actions.items())
    (plugin / 'config.yaml').write_text(config(actions=lines + '    method: serve\n'))
    write(
        plugin,
        {
            'plugin/things.py': 'class Plain:\n    pass\n\n\ndef helper(params, ctx):\n    return {}\n',
            'plugin/broken.py': 'raise RuntimeError("model file\\nmissing")\n',
            'plugin/needs.py': 'import not_installed_pkg_xyz.sub\n',
            'plugin/exits.py': 'import sys\n\nsys.exit(3)\n',
        },
    )
    assert problems_of(plugin) == [
        "action 'gone': entrypoint 'plugin.gone.Run': module 'plugin.gone' not found in "
        f'{plugin}; fix: create plugin/gone.py (or plugin/gone/__init__.py) or correct the entrypoint',
        "action 'typo': entrypoint 'plugin.hi.gret': module 'plugin.hi' has no attribute 'gret'; "
        'fix: define gret in plugin/hi.py or correct the entrypoint',
        "action 'plain': entrypoint 'plugin.things.Plain': class Plain is not a BaseAction subclass; "
        "fix: subclass BaseAction, or set 'method: serve' for a Ray Serve deployment",
        "action 'func': entrypoint 'plugin.things.helper': function 'helper' is not an action; "
        'fix: decorate it with @action',
        "action 'broken': entrypoint 'plugin.broken.Run': module 'plugin.broken' fails to import: "
        'RuntimeError: model file missing; fix: correct it (`python -c "import plugin.broken"` in the plugin '
        'folder shows the traceback)',
        "action 'needs': entrypoint 'plugin.needs.Run': module 'plugin.needs' imports 'not_installed_pkg_xyz', "
        'which is not installed; fix: pip install not_installed_pkg_xyz (and list it in requirements.txt)',
        "action 'exits': entrypoint 'plugin.exits.Run': module 'plugin.exits' calls sys.exit() while it is "
        'imported; fix: raise an exception instead',
    ]


def test_an_entrypoint_whose_module_is_left_out_of_the_archive_is_refused(plugin: Path):
    write(plugin, {'.synapseignore': 'hi.py\n'})
    assert problems_of(plugin) == [
        "action 'greet': entrypoint 'plugin.hi.greet': plugin/hi.py is left out of the archive "
        "(.synapseignore line 1: 'hi.py'); fix: remove .synapseignore line 1, or add '!plugin/hi.py' after it",
    ]
    write(plugin, {'.synapseignore': 'plugin/\n'})
    assert problems_of(plugin) == [
        "action 'greet': entrypoint 'plugin.hi.greet': plugin/hi.py is left out of the archive "
        "(.synapseignore line 1: 'plugin/'); fix: remove .synapseignore line 1, or narrow it so that plugin/ "
        'is not matched',
    ]


def test_a_config_yaml_left_out_of_the_archive_is_refused(plugin: Path):
    write(plugin, {'.synapseignore': '*.yaml\n'})
    assert problems_of(plugin) == [
        "config.yaml is left out of the archive (.synapseignore line 1: '*.yaml'); "
        "fix: remove .synapseignore line 1, or add '!config.yaml' after it",
    ]


def test_a_value_json_cannot_carry_is_refused(plugin: Path):
    (plugin / 'config.yaml').write_text(config() + 'released: 2024-05-01\n')
    with pytest.warns(Warning, match=r"unknown key 'released'"):
        problems = problems_of(plugin)
    assert problems == [
        "config.yaml: 'released' holds date datetime.date(2024, 5, 1), which JSON cannot carry; fix: quote it in YAML"
    ]


def test_a_neural_net_plugin_needs_a_data_type_to_publish(plugin: Path):
    (plugin / 'config.yaml').write_text(config().replace('code: hi\n', 'code: hi\ncategory: neural_net\n'))
    with pytest.warns(Warning, match=r'^data_type is required'):
        problems = problems_of(plugin)
    assert problems == [
        "data_type is required for neural_net plugins. Add 'data_type: image' (or text, video, pcd, audio) "
        'to config.yaml'
    ]


def test_an_invalid_config_is_the_loaders_error(plugin: Path):
    (plugin / 'config.yaml').write_text('name: Hi\ncode: Not A Slug\n')
    with pytest.raises(ConfigError, match=r'line 2: code: code must be a slug'):
        prepare_release(plugin)


def test_files_over_the_runners_limits_are_refused_naming_the_largest(plugin: Path, monkeypatch):
    write(plugin, {'data/big.bin': 'x' * 3000, 'data/mid.bin': 'x' * 2000})
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES', '4096')
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_MEMBERS', '3')
    assert problems_of(plugin) == [
        'the archive would hold 5 files (limit 3); fix: leave some out with .synapseignore, '
        'or set SYNAPSE_PLUGIN_MAX_MEMBERS to raise the limit (where it runs too)',
        f'the files to ship add up to {format_size(5000 + len(config()) + len(GREET))} (limit 4.0 KiB), the largest: '
        f'data/big.bin (2.9 KiB), data/mid.bin (2.0 KiB), plugin/hi.py ({len(GREET)} B); fix: leave them out with '
        '.synapseignore (model weights belong in models/), or set SYNAPSE_PLUGIN_MAX_UNPACKED_BYTES to raise the '
        'limit (where it runs too)',
    ]


def test_an_archive_over_the_download_limit_is_refused(plugin: Path, monkeypatch):
    size = len(prepare_release(plugin).archive)
    monkeypatch.setenv('SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES', str(size - 1))
    assert problems_of(plugin) == [
        f'the archive is {size} B (limit {size - 1} B); fix: leave large files out with .synapseignore, '
        'or set SYNAPSE_PLUGIN_MAX_DOWNLOAD_BYTES to raise the limit (where it runs too)'
    ]


@pytest.mark.parametrize(('count', 'shown'), [(0, '0 B'), (1023, '1023 B'), (1536, '1.5 KiB'), (12 << 20, '12.0 MiB')])
def test_format_size(count: int, shown: str):
    assert format_size(count) == shown


# --------------------------------------------------------------------------- the command


def test_dry_run_prints_what_would_ship_and_why_the_rest_is_left_out(tmp_path: Path):
    root = tmp_path / 'hello'
    shutil.copytree(HELLO, root, ignore=shutil.ignore_patterns('__pycache__'))
    write(root, {'.env': 'TOKEN=abc\n', '.synapseignore': 'notes/\n', 'notes/todo.md': '- ship\n'})
    release = prepare_release(root)
    result = CliRunner().invoke(app, ['plugin', 'publish', '--path', str(root), '--dry-run'])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f'hello@0.1.0 would ship 4 files, {format_size(release.manifest.total_size)} '
        f'(archive {format_size(len(release.archive))}, sha256 {release.sha256[:12]})\n'
        '         7 B  .synapseignore\n'
        '       378 B  config.yaml\n'
        '        31 B  plugin/__init__.py\n'
        '     2.1 KiB  plugin/actions.py\n'
        'Left out (2):\n'
        "  .env: built-in default '.env'\n"
        "  notes/ (1 file): .synapseignore line 1: 'notes/'\n"
        'Dry run: nothing was uploaded.\n'
    )
    assert 'TOKEN' not in result.output


def test_the_command_lists_every_problem_on_its_own_line_and_uploads_nothing(plugin: Path):
    (plugin / 'config.yaml').write_text(
        config('1.0', '  greet:\n    entrypoint: plugin.hi:greet\n  gone:\n    entrypoint: plugin.hi:gone\n')
    )
    result = CliRunner().invoke(app, ['plugin', 'publish', '--path', str(plugin)])
    assert result.exit_code == 1
    assert result.stdout == ''
    assert result.stderr == (
        'Error: cannot publish hi@1.0 (2 problems):\n'
        "  version '1.0' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
        'e.g. 1.0.0 or 1.0.0-rc.1) (YAML reads it as the number 1.0: quote the version); '
        "fix: set version: '1.0.0' in config.yaml\n"
        "  action 'gone': entrypoint 'plugin.hi.gone': module 'plugin.hi' has no attribute 'gone'; "
        'fix: define gone in plugin/hi.py or correct the entrypoint\n'
    )
