"""Which files of a plugin ship to Ray, and the archive they ship in."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from synapse_sdk.plugins.executors.ray._packaging import IgnoreRules, build_archive, package_files


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_credentials_params_and_git_never_ship(tmp_path):
    _tree(
        tmp_path,
        {
            'config.yaml': 'name: x',
            'plugin/__init__.py': '',
            'plugin/__pycache__/a.cpython-311.pyc': '',
            '.git/HEAD': 'ref',
            '.env': 'A=1',
            '.env.production': 'A=1',
            'certs/server.pem': 'k',
            '.synapse_params.json': '{}',
            '.synapse_secrets.json': '{}',
            '.synapse/config.json': '{}',
            'sub/.netrc': 'machine',
            'credentials.json': '{}',
        },
    )
    assert package_files(tmp_path) == ['config.yaml', 'plugin/__init__.py']


def test_synapseignore_rules_with_negation_and_anchors(tmp_path):
    _tree(
        tmp_path,
        {
            '.synapseignore': '# comment\n\n*.log\n!keep.log\n/build/\ndocs/*.md\nnested/\n!.env\n',
            'a.log': '',
            'keep.log': '',
            'sub/b.log': '',
            'build/out.bin': '',
            'src/build/kept.py': '',
            'docs/guide.md': '',
            'docs/img.png': '',
            'x/nested/y.txt': '',
            '.env': 'SECRET=1',
            'main.py': '',
        },
    )
    assert package_files(tmp_path) == [
        '.synapseignore',
        'docs/img.png',
        'keep.log',
        'main.py',
        'src/build/kept.py',
    ]


def test_ignore_rules_last_match_wins():
    rules = IgnoreRules(['data/*', '!data/small.csv'])
    assert (rules.excluded('data/big.csv'), rules.excluded('data/small.csv')) == (True, False)
    assert rules.excluded('id_rsa') and rules.excluded('a/b/.git', is_dir=True)


def test_missing_working_dir_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf'^Working directory not found: {tmp_path / "nope"}$'):
        package_files(tmp_path / 'nope')


def test_archive_is_deterministic_and_content_addressed(tmp_path):
    plugin = _tree(tmp_path / 'p', {'config.yaml': 'name: x', 'plugin/a.py': 'A = 1'})
    first = build_archive(plugin, tmp_path / 'out1')
    second = build_archive(plugin, tmp_path / 'out2')
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    (plugin / 'plugin/a.py').write_text('A = 2')
    changed = build_archive(plugin, tmp_path / 'out1')
    assert changed.name != first.name
    with zipfile.ZipFile(changed) as zf:
        assert zf.namelist() == ['config.yaml', 'plugin/a.py']
        assert zf.read('plugin/a.py') == b'A = 2'


def test_archive_adds_run_files_and_refuses_to_overwrite_plugin_files(tmp_path):
    plugin = _tree(tmp_path / 'p', {'config.yaml': 'name: x'})
    archive = build_archive(plugin, tmp_path / 'out', {'.synapse_params.json': b'{"a":1}'})
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ['.synapse_params.json', 'config.yaml']
    with pytest.raises(
        ValueError, match=r'^config.yaml would overwrite a file of the plugin; rename or ignore that file$'
    ):
        build_archive(plugin, tmp_path / 'out', {'config.yaml': b'x'})


def test_secrets_file_is_private_in_the_archive(tmp_path):
    archive = build_archive(None, tmp_path, {'.synapse_secrets.json': b'{}'})
    with zipfile.ZipFile(archive) as zf:
        assert (zf.getinfo('.synapse_secrets.json').external_attr >> 16) & 0o777 == 0o600
    assert archive.stat().st_mode & 0o777 == 0o600
