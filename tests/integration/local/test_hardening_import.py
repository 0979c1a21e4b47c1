"""``synapse local import`` reports files, bytes and rate; ``--quiet`` keeps only the result line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app

pytestmark = pytest.mark.integration

runner = CliRunner()
SUMMARY = re.compile(r'^Processed (\d+) files \(([\d.]+ \w+)\) in \d+\.\d s, [\d.]+ \w+/s$', re.MULTILINE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / 'in'
    root.mkdir()
    for stem in ('a', 'b', 'c'):
        (root / f'{stem}.jpg').write_bytes(b'j' * 1500)
        (root / f'{stem}.json').write_text('{"k": 1}')  # 8 bytes
    (root / 'd.jpg').write_bytes(b'j' * 500)  # no annotation: 7 files, 5024 bytes in all
    return root


def run_import(folder: Path, state: Path, *extra: str) -> str:
    specs = ['--spec', 'image=*.jpg', '--spec', 'annotation_data=*.json']
    done = runner.invoke(app, ['local', 'import', str(folder), '--project', 'p', *specs, '--dir', str(state), *extra])
    assert done.exit_code == 0, done.output
    return done.output


def test_import_prints_the_transfer_summary(folder: Path, tmp_path: Path) -> None:
    output = run_import(folder, tmp_path / 'state')
    found = SUMMARY.search(output)
    assert found is not None, output
    assert found.groups() == ('7', '5.0 kB')  # rich's decimal units: 5024 bytes
    assert "Project 'p' (id 1): 4 data units and tasks created, 0 already present" in output
    assert '\x1b[' not in output  # not a terminal: no bar drawn

    again = run_import(folder, tmp_path / 'state')  # skipped units are still read through
    assert SUMMARY.search(again) is not None and '0 data units and tasks created, 4 already present' in again


def test_quiet_import_prints_only_the_result(folder: Path, tmp_path: Path) -> None:
    output = run_import(folder, tmp_path / 'state', '--quiet')
    assert SUMMARY.search(output) is None
    assert output.startswith("Project 'p' (id 1): 4 data units and tasks created")
