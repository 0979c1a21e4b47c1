"""The local backend's annotate write: ``UPDATE ... RETURNING``, or UPDATE then SELECT on SQLite < 3.35."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.exceptions import NotFoundError
from synapse_sdk.local.connect import connect_local
from synapse_sdk.local.db import Database
from synapse_sdk.local.models import Project, Task
from synapse_sdk.local.routers import tasks as tasks_router

OLD_SQLITE = (3, 31, 1)  #: Ubuntu 20.04's, without RETURNING
NEW_SQLITE = (3, 45, 1)


def test_the_write_is_chosen_once_by_the_sqlite_version():
    assert tasks_router.annotate_for(OLD_SQLITE) is tasks_router._annotate_then_select
    assert tasks_router.annotate_for((3, 34, 1)) is tasks_router._annotate_then_select
    assert tasks_router.annotate_for((3, 35, 0)) is tasks_router._annotate_returning
    assert tasks_router.annotate_for(NEW_SQLITE) is tasks_router._annotate_returning
    assert tasks_router._annotate is tasks_router.annotate_for(sqlite3.sqlite_version_info)


@pytest.fixture(params=[NEW_SQLITE, OLD_SQLITE], ids=['returning', 'update-then-select'])
def client(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackendClient]:
    """An in-process local backend whose annotate write is the one chosen for that SQLite version."""
    monkeypatch.setattr(tasks_router, '_annotate', tasks_router.annotate_for(request.param))
    with connect_local(tmp_path / 'local', in_process=True, retry=RetryPolicy(attempts=1)) as c:
        yield c


def test_annotate_answers_the_updated_task(client):
    collection = client.data_collections.create('c', [{'name': 'image', 'is_primary': True}])
    project = client.projects.create('p', data_collection=collection['id'])
    task = client.tasks.create(project['id'])
    first = client.annotate_task_data(task['id'], {'boxes': [1]})
    assert first == {**client.get_task(task['id']), 'data': {'boxes': [1]}}
    assert {k: v for k, v in first.items() if k != 'updated_at'} == {
        **{k: v for k, v in task.items() if k != 'updated_at'},
        'data': {'boxes': [1]},
    }
    assert client.annotate_task_data(task['id'], {'boxes': [1]}) == first  # the same data again: nothing moves
    with pytest.raises(NotFoundError, match=rf'^404: Task {task["id"] + 1} not found$'):
        client.annotate_task_data(task['id'] + 1, {'boxes': [2]})


def test_the_fallback_sends_no_returning_and_reads_the_row_in_the_same_transaction(tmp_path):
    db = Database(tmp_path / 'db.sqlite3')
    try:
        db.create_schema()
        with db.write() as session:
            project = Project(name='p')
            session.add(project)
            session.flush()
            task = Task(project_id=project.id)
            session.add(task)
            session.flush()
            task_id = task.id
        statements: list[str] = []
        event.listen(db.engine, 'before_cursor_execute', lambda *args: statements.append(args[2]))
        with db.write_connection() as conn:
            row = tasks_router._annotate_then_select(conn, task_id, {'a': 1})
            missing = tasks_router._annotate_then_select(conn, task_id + 1, {'a': 1})
        assert (row.id, row.project_id, row.data) == (task_id, project.id, {'a': 1})
        assert missing is None
        assert [s.split()[0] for s in statements] == ['BEGIN', 'UPDATE', 'SELECT', 'UPDATE']
        assert not any('RETURNING' in s.upper() for s in statements)
    finally:
        db.dispose()
