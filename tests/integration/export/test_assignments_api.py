"""The local backend's ``assignments/`` over HTTP: shape, filters, the data/files views, tags, errors."""

from __future__ import annotations

import pytest
from tests.integration.export.conftest import build_project

from synapse_sdk.exceptions import NotFoundError, RequestValidationError

pytestmark = pytest.mark.integration

SHAPE = {
    'id',
    'project',
    'task',
    'user',
    'data',
    'file',
    'status_label',
    'status_review',
    'is_confirmed',
    'tags',
    'created',
}


def test_an_assignment_has_the_platform_shape_and_its_task_files(client):
    project = build_project(client, 1)
    one = client.get_assignment(project.assignment_ids[0])
    assert set(one) == SHAPE
    assert (one['project'], one['task'], one['user']) == (project.id, project.task_ids[0], 7)
    assert (one['status_label'], one['status_review'], one['is_confirmed'], one['tags']) == (
        'stand_by',
        'stand_by',
        False,
        [],
    )
    image = one['file']['image']
    assert image['is_primary'] is True and image['file_name_original'] == 'photo0.png'
    assert client.download_file(image['url']).startswith(b'\x89PNG')


def test_filters_narrow_the_listing(client):
    project = build_project(client, 4)
    ids, tasks = project.assignment_ids, project.task_ids
    assert [a['id'] for a in client.list_assignments({'project': project.id})] == ids
    assert [a['id'] for a in client.list_assignments({'project': project.id, 'id__lt': ids[2]})] == ids[:2]
    picked = client.list_assignments({'tasks': f'{tasks[1]},{tasks[3]}'})
    assert [a['task'] for a in picked] == [tasks[1], tasks[3]]
    assert client.list_assignments({'project': project.id, 'is_confirmed': 'true'}) == []
    data = client.list_assignments_data({'project': project.id})
    assert [set(a) for a in data] == [{'id', 'data'}] * 4
    files = client.list_assignments_files({'project': project.id})
    assert [set(a) for a in files] == [{'id', 'file'}] * 4
    items, count = client.get_assignments({'project': project.id, 'page_size': 3})
    assert count == 4 and [a['id'] for a in items] == ids  # the second page is followed


def test_tags_are_added_and_removed_all_or_nothing(client):
    project = build_project(client, 2)
    ids = project.assignment_ids
    assert client.set_tags_assignments({'ids': ids, 'tags': [3, 5], 'action': 'add'}) == {'updated': 2}
    client.set_tags_assignments({'ids': ids[:1], 'tags': [3], 'action': 'remove'})
    assert [client.get_assignment(i)['tags'] for i in ids] == [[5], [3, 5]]
    with pytest.raises(NotFoundError, match=r'ids: assignment 999999 not found'):
        client.set_tags_assignments({'ids': [ids[0], 999999], 'tags': [9]})
    assert client.get_assignment(ids[0])['tags'] == [5]


def test_errors_name_what_is_wrong(client):
    with pytest.raises(NotFoundError, match=r'Assignment 424242 not found'):
        client.get_assignment(424242)
    with pytest.raises(RequestValidationError, match=r"Unknown filter 'colour'"):
        client.list_assignments({'colour': 'red'})
    with pytest.raises(NotFoundError, match=r'Task 989898 not found'):
        client.assignments.create(989898)
