"""SQLite in WAL mode; a failure in the middle of a write leaves nothing half-written.

Failures are injected at a third-party seam (SQLAlchemy's ``Session.flush``) or by holding SQLite's
write lock from a second connection, never by replacing our own code.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from synapse_sdk.clients import BackendClient
from synapse_sdk.exceptions import ServerError
from synapse_sdk.local.models import DataUnit, PluginRelease
from synapse_sdk.local.transfer import import_folder


def fail_flush_when(monkeypatch: pytest.MonkeyPatch, pending: Any) -> None:
    """Make ``Session.flush`` raise once an object matching ``pending`` is about to be written."""
    original = Session.flush

    def flush(self: Session, *args: Any, **kwargs: Any) -> None:
        if any(pending(obj) for obj in self.new):
            raise RuntimeError('disk full (injected)')
        original(self, *args, **kwargs)

    monkeypatch.setattr(Session, 'flush', flush)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def stored_files(state: Path) -> list[str]:
    return sorted(p.name for p in (state / 'storage').rglob('*') if p.is_file())


def test_the_database_is_in_wal_mode_with_foreign_keys(client: BackendClient, tmp_path: Path) -> None:
    db = tmp_path / 'local' / 'synapse.db'
    assert rows(db, 'PRAGMA journal_mode') == [('wal',)]  # persistent in the file itself
    assert (tmp_path / 'local' / 'synapse.db-wal').exists()
    from synapse_sdk.local.app import create_app

    app = create_app(tmp_path / 'local')
    with app.state.db.engine.connect() as conn:
        pragmas = [conn.exec_driver_sql(f'PRAGMA {name}').scalar() for name in ('foreign_keys', 'synchronous')]
    app.close()
    assert pragmas == [1, 1]  # foreign keys enforced; synchronous=NORMAL


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / 'data'
    data.mkdir()
    for stem in ('a', 'b', 'c'):
        (data / f'{stem}.jpg').write_bytes(b'jpg-' + stem.encode())
        (data / f'{stem}.json').write_text(json.dumps({'stem': stem}))
    return data


def test_an_import_failing_mid_unit_keeps_whole_units_only(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / 'local'
    specs = ['image=*.jpg', 'annotation_data=*.json']
    # b's two files are stored and flushed, then writing its data unit fails
    fail_flush_when(monkeypatch, lambda obj: isinstance(obj, DataUnit) and obj.key == 'b')
    with pytest.raises(RuntimeError, match=r'^disk full \(injected\)$'):
        import_folder(folder, 'p', specs, state_dir=state)
    db = state / 'synapse.db'
    assert rows(db, 'SELECT key FROM data_units') == [('a',)]
    assert rows(db, 'SELECT data_unit_id FROM tasks') == [(1,)]
    assert rows(db, 'SELECT file_name_original FROM data_files ORDER BY id') == [('a.jpg',), ('a.json',)]
    assert stored_files(state) == ['a.jpg', 'a.json']  # b's bytes were removed with its rolled-back rows

    monkeypatch.undo()
    result = import_folder(folder, 'p', specs, state_dir=state)
    assert (result.created, result.skipped) == (2, 1)
    assert rows(db, 'SELECT key FROM data_units ORDER BY id') == [('a',), ('b',), ('c',)]
    assert rows(db, 'SELECT count(*) FROM tasks') == [(3,)]
    assert stored_files(state) == ['a.jpg', 'a.json', 'b.jpg', 'b.json', 'c.jpg', 'c.json']


def test_a_publish_failing_after_its_first_rows_writes_nothing(
    client: BackendClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger='synapse_sdk.local')
    # the plugin row and the archive's file row are flushed first; the release row then fails
    fail_flush_when(monkeypatch, lambda obj: isinstance(obj, PluginRelease))
    with pytest.raises(ServerError) as info:
        client.plugin_releases.publish('yolo', '1.0.0', {'code': 'yolo'}, b'PK\x03\x04archive')
    assert str(info.value) == '500: Internal server error'
    assert [r.getMessage() for r in caplog.records] == ['Unhandled error on POST /plugin_releases/: RuntimeError']
    monkeypatch.undo()
    db = tmp_path / 'local' / 'synapse.db'
    assert rows(db, 'SELECT count(*) FROM plugins') == [(0,)]
    assert rows(db, 'SELECT count(*) FROM data_files') == [(0,)]
    assert stored_files(tmp_path / 'local') == []
    assert client.plugin_releases.publish('yolo', '1.0.0', {'code': 'yolo'}, b'PK')['version'] == '1.0.0'


def test_an_upload_whose_row_fails_leaves_no_bytes(
    client: BackendClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synapse_sdk.local.models import DataFile

    fail_flush_when(monkeypatch, lambda obj: isinstance(obj, DataFile))
    with pytest.raises(ServerError, match=r'^500: Internal server error$'):
        client.data_files.upload(b'bytes', 'orphan.bin')
    assert stored_files(tmp_path / 'local') == []


@pytest.fixture
def blocker(tmp_path: Path, client: BackendClient) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as SQLite sees it: a connection holding the write lock."""
    conn = sqlite3.connect(tmp_path / 'local' / 'synapse.db', isolation_level=None, check_same_thread=False)
    yield conn
    conn.close()


def test_an_annotate_waiting_for_the_write_lock_does_not_block_reads(
    client: BackendClient, project: dict, blocker: sqlite3.Connection
) -> None:
    task = client.tasks.create(project['id'], data={'v': 0})
    blocker.execute('BEGIN IMMEDIATE')
    with ThreadPoolExecutor(2) as pool:
        put = pool.submit(client.annotate_task_data, task['id'], {'v': 1})
        time.sleep(0.3)
        assert not put.done()  # it waits for the lock (in a worker thread) ...
        read = pool.submit(client.get_task, task['id'])
        assert read.result(timeout=5)['data'] == {'v': 0}  # ... while the event loop keeps answering
        blocker.execute('COMMIT')
        assert put.result(timeout=10)['data'] == {'v': 1}
    assert client.get_task(task['id'])['data'] == {'v': 1}


def test_state_files_are_private_from_creation(tmp_path: Path) -> None:
    import os
    import stat

    from synapse_sdk.local.setup import init_local

    previous = os.umask(0)  # even a permissive umask yields a 0600 token file
    try:
        result = init_local(tmp_path / 'fresh')
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(result.paths.token_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(result.paths.root).st_mode) == 0o700
    assert result.paths.token_file.read_text() == result.token
