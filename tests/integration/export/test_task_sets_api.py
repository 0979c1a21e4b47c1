"""The local backend's tasks in bulk over HTTP: ``tasks/set_tags/``, the ``tags`` filter, ``sdk/tasks/data/`` and
``sdk/tasks/files/``, through our client's flat names (the platform client's: ``set_tags_tasks`` ...)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.export.conftest import build_project

from synapse_sdk.clients.base.call import Call
from synapse_sdk.exceptions import NotFoundError, RequestValidationError

pytestmark = pytest.mark.integration


def tag(client: Any, project: int, name: str) -> int:
    body = {'project': project, 'name': name}
    return int(client._call(Call('POST', 'task_tags/', json=body), lambda created: created)['id'])


def ids_with(client: Any, project: int, **filters: Any) -> list[int]:
    return [task['id'] for task in client.list_tasks({'project': project, 'fields': 'id', **filters})]


def test_tags_are_set_removed_and_filtered_on(client):
    project = build_project(client, 3)
    a, b, c = project.task_ids
    hard, done = tag(client, project.id, 'hard'), tag(client, project.id, 'exported')
    assert client.set_tags_tasks({'ids': [a, b], 'tags': [hard, done], 'action': 'add'}) == {'updated': 2}
    assert client.set_tags_tasks({'ids': [a, b], 'tags': [hard]}) == {'updated': 2}  # again: nothing doubles
    assert ids_with(client, project.id, tags=hard) == [a, b]
    client.tasks.set_tags([a], [hard], 'remove')
    assert ids_with(client, project.id, tags=hard) == [b]
    assert ids_with(client, project.id, tags=done) == [a, b]
    assert ids_with(client, project.id, tags__in=f'{hard},{done}') == [a, b]
    assert ids_with(client, project.id, tags__in=str(hard)) == [b]
    assert c not in ids_with(client, project.id, tags=done)
    # all or nothing, the unknown one named
    with pytest.raises(NotFoundError, match=r'ids: task 999999 not found'):
        client.set_tags_tasks({'ids': [c, 999999], 'tags': [hard]})
    with pytest.raises(NotFoundError, match=r'tags: task tag 888888 not found \(make one with POST task_tags/\)'):
        client.set_tags_tasks({'ids': [c], 'tags': [hard, 888888]})
    assert ids_with(client, project.id, tags=hard) == [b]
    with pytest.raises(RequestValidationError, match=r"Invalid value 'x' for filter 'tags': expected a task tag id"):
        client.list_tasks({'project': project.id, 'tags': 'x'})
    with pytest.raises(RequestValidationError, match=r'action'):
        client.set_tags_tasks({'ids': [a], 'tags': [hard], 'action': 'toggle'})


def test_the_data_and_files_views_take_the_task_filters(client):
    project = build_project(client, 3)
    first = project.task_ids[0]
    data = client.list_tasks_data({'project': project.id})
    assert [set(row) for row in data] == [{'id', 'data'}] * 3
    assert {row['id']: row['data'] for row in data} == {t: client.get_task(t)['data'] for t in project.task_ids}
    files = client.list_tasks_files({'project': project.id, 'id': first})
    assert [set(row) for row in files] == [{'id', 'files'}]
    image = files[0]['files']['image']
    assert image['is_primary'] is True and client.download_file(image['url']).startswith(b'\x89PNG')
    rows, count = client.tasks.list_files({'project': project.id}, list_all=True)
    assert count == 3 and [row['id'] for row in rows] == project.task_ids
    hard = tag(client, project.id, 'hard')
    client.set_tags_tasks({'ids': [first], 'tags': [hard]})
    assert [row['id'] for row in client.list_tasks_data({'project': project.id, 'tags': hard})] == [first]
    with pytest.raises(RequestValidationError, match=r"Unknown filter 'colour'"):
        client.list_tasks_data({'colour': 'red'})


def test_a_task_without_a_data_unit_lists_no_files(client):
    project = build_project(client, 1, with_media=False)
    assert [row['files'] for row in client.list_tasks_files({'project': project.id})] == [{}]
