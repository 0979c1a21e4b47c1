"""`synapse local init/import/export` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


def test_init_says_where_the_plain_text_token_is_kept(tmp_path: Path) -> None:
    result = runner.invoke(app, ['local', 'init'])
    assert result.exit_code == 0, result.output
    assert f'in plain text in {tmp_path / "local" / "access_token"} (mode 0600, readable only by you)' in result.output


def test_export_never_overwrites_a_task_sharing_a_data_unit(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ['a', 'b'])
    args = ['local', 'import', str(folder), '--project', 'cats', '--spec', 'image=*.jpg']
    assert runner.invoke(app, args).exit_code == 0
    with connect_local(tmp_path / 'local', in_process=True) as client:
        unit_a = client.get_task(1)['data_unit']
        second = client.tasks.create(1, data_unit=unit_a, data={'review': 2})
        third = client.tasks.create(1, data_unit=unit_a, data={'review': 3})
        client.annotate_task_data(1, {'review': 1})
    out = tmp_path / 'out'
    exported = runner.invoke(app, ['local', 'export', 'cats', str(out)])
    assert exported.exit_code == 0, exported.output
    assert 'Wrote 4 task files' in exported.output
    written = {p.name: json.loads(p.read_text()) for p in out.iterdir()}
    assert written == {
        'a.json': {'review': 1},
        f'a-task{second["id"]}.json': {'review': 2},
        f'a-task{third["id"]}.json': {'review': 3},
        'b.json': {},
    }
    again = runner.invoke(app, ['local', 'export', 'cats', str(out)])  # the same names again: no new files
    assert again.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(written)


def test_token_create_issues_a_user_token_stored_only_hashed(tmp_path: Path) -> None:
    import hashlib

    from synapse_sdk.clients import BackendClient
    from synapse_sdk.clients.base.inprocess import SyncASGITransport
    from synapse_sdk.exceptions import AuthenticationError
    from synapse_sdk.local.app import create_app
    from synapse_sdk.local.connect import IN_PROCESS_URL

    created = runner.invoke(app, ['local', 'token', 'create', '--user', '--name', 'ci-bot'])
    assert created.exit_code == 0, created.output
    lines = created.output.strip().splitlines()
    token = lines[-1].strip()
    assert 'New user token' in lines[0] and 'Authorization: Token <token>' in created.output
    state = tmp_path / 'local'
    assert all(token.encode() not in p.read_bytes() for p in state.rglob('*') if p.is_file())
    assert any(hashlib.sha256(token.encode()).hexdigest().encode() in p.read_bytes() for p in state.glob('synapse.db*'))

    backend = create_app(state)
    user = BackendClient(IN_PROCESS_URL, user_token=token, transport=SyncASGITransport(backend))
    assert user.agents.list()[0]['name'] == 'local'  # accepted as `Authorization: Token <user token>`
    as_access = BackendClient(IN_PROCESS_URL, token, transport=SyncASGITransport(backend))
    with pytest.raises(AuthenticationError, match=r'^401: Invalid token\. The backend at .* refused'):
        as_access.agents.list()  # a user token is not an access token
    user.close()
    as_access.close()
    backend.close()

    listed = runner.invoke(app, ['local', 'token', 'list'])
    assert listed.exit_code == 0
    assert token not in listed.output
    rows = [line.split('│')[1:4] for line in listed.output.splitlines() if line.startswith('│')]
    assert [[cell.strip() for cell in row] for row in rows] == [['1', 'access', 'local'], ['2', 'user', 'ci-bot']]
