"""`synapse local init/import/export` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.local.connect import connect_local

runner = CliRunner()


def test_init_prints_a_token_once_and_keeps_data(tmp_path: Path) -> None:
    first = runner.invoke(app, ['local', 'init'])
    assert first.exit_code == 0, first.output
    token = (tmp_path / 'local' / 'access_token').read_text()
    assert token in first.output
    with connect_local(tmp_path / 'local', in_process=True) as client:
        client.projects.create('kept')
    again = runner.invoke(app, ['local', 'init'])
    assert again.exit_code == 0
    assert token not in again.output
    assert 'Already initialised' in again.output
    with connect_local(tmp_path / 'local', in_process=True) as client:
        assert [p['name'] for p in client.projects.list()] == ['kept']


def _folder(tmp_path: Path, stems: list[str]) -> Path:
    folder = tmp_path / 'data'
    folder.mkdir(exist_ok=True)
    for stem in stems:
        (folder / f'{stem}.jpg').write_bytes(b'jpg-' + stem.encode())
        (folder / f'{stem}.json').write_text(json.dumps({'label': stem}))
    return folder


def test_import_is_idempotent_and_export_writes_task_data(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ['a', 'b'])
    args = [
        'local',
        'import',
        str(folder),
        '--project',
        'cats',
        '--spec',
        'image=*.jpg',
        '--spec',
        'annotation_data=*.json',
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Project 'cats' (id 1): 2 data units and tasks created, 0 already present" in first.output
    _folder(tmp_path, ['c'])
    second = runner.invoke(app, args)
    assert '1 data units and tasks created, 2 already present' in second.output

    with connect_local(tmp_path / 'local', in_process=True) as client:
        tasks = client.list_tasks({'project': 1, 'expand': 'data_unit'})
        assert len(tasks) == 3
        files = tasks[0]['data_unit']['files']
        assert files['image']['is_primary'] is True
        assert client.download_json(files['annotation_data']['url']) == {'label': 'a'}
        collection = client.get_data_collection(client.get_project(1)['data_collection'])
        assert [s['name'] for s in collection['file_specifications']] == ['image', 'annotation_data']
        client.annotate_task_data(tasks[1]['id'], {'boxes': [1, 2]})

    out = tmp_path / 'out'
    exported = runner.invoke(app, ['local', 'export', 'cats', str(out)])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == ['a.json', 'b.json', 'c.json']
    assert json.loads((out / 'b.json').read_text()) == {'boxes': [1, 2]}
    assert json.loads((out / 'a.json').read_text()) == {}


def test_import_errors_are_one_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ['a'])
    bad_spec = runner.invoke(app, ['local', 'import', str(folder), '--project', 'p', '--spec', 'image'])
    assert bad_spec.exit_code == 1
    assert "Invalid --spec 'image': expected NAME=GLOB, e.g. image=*.jpg" in bad_spec.output
    nothing = runner.invoke(app, ['local', 'import', str(folder), '--project', 'p', '--spec', 'image=*.png'])
    assert nothing.exit_code == 1
    assert 'match any --spec pattern (*.png)' in nothing.output
    missing = runner.invoke(app, ['local', 'export', 'ghost', str(tmp_path / 'o')])
    assert missing.exit_code == 1
    assert "Project 'ghost' not found; existing projects: none" in missing.output
