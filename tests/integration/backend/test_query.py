"""``fields=``, ``expand=`` and ``ordering=`` on every resource: applied, or refused by name (never ignored)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.clients.base.call import Call
from synapse_sdk.exceptions import RequestValidationError
from synapse_sdk.local import views


@pytest.fixture
def seeded(client: BackendClient) -> dict:
    dc = client.data_collections.create('dc', [{'name': 'image', 'is_primary': True}])
    projects = [client.projects.create(name, data_collection=dc['id']) for name in ('beta', 'alpha', 'gamma')]
    image = client.data_files.upload(b'img', 'a.jpg')
    unit = client.data_units.create(dc['id'], {'image': {'file': image['id'], 'is_primary': True}}, key='a')
    statuses = ['pending', 'done', 'pending', 'in_progress']
    tasks = [client.tasks.create(projects[0]['id'], data_unit=unit['id'], status=s) for s in statuses]
    return {'dc': dc, 'projects': projects, 'unit': unit, 'tasks': tasks}


def test_ordering_sorts_by_whitelisted_fields(client: BackendClient, seeded: dict) -> None:
    ids = [p['id'] for p in seeded['projects']]
    assert [p['id'] for p in client.projects.list({'ordering': '-id'})] == ids[::-1]
    assert [p['name'] for p in client.projects.list({'ordering': 'name'})] == ['alpha', 'beta', 'gamma']
    assert [p['name'] for p in client.projects.list({'ordering': '-name'})] == ['gamma', 'beta', 'alpha']
    tasks = seeded['tasks']
    by_status = client.list_tasks({'ordering': 'status,-id', 'fields': 'id,status'})
    assert by_status == [
        {'id': tasks[1]['id'], 'status': 'done'},
        {'id': tasks[3]['id'], 'status': 'in_progress'},
        {'id': tasks[2]['id'], 'status': 'pending'},
        {'id': tasks[0]['id'], 'status': 'pending'},
    ]
    # ties are broken by id, so pages of a sorted listing never overlap or skip
    paged, count = client.list_tasks({'ordering': 'status', 'fields': 'id', 'page_size': 1}, list_all=True)
    assert [t['id'] for t in paged] == [tasks[1]['id'], tasks[3]['id'], tasks[0]['id'], tasks[2]['id']]
    assert count == 4


def test_unknown_ordering_is_refused_by_name(client: BackendClient, seeded: dict) -> None:
    with pytest.raises(RequestValidationError) as info:
        client.projects.list({'ordering': '-colour'})
    assert (
        str(info.value) == "400: Unknown ordering field '-colour'; allowed: created_at, id, name (prefix - to reverse)"
    )
    with pytest.raises(RequestValidationError, match=r"^400: Unknown ordering field 'data'; allowed: assignee, "):
        client.list_tasks({'ordering': 'data'})


def test_fields_apply_to_every_list_and_detail(client: BackendClient, seeded: dict) -> None:
    project = seeded['projects'][0]
    assert client.projects.list({'fields': 'id'}) == [{'id': p['id']} for p in seeded['projects']]
    detail = Call('GET', f'projects/{project["id"]}/', params={'fields': 'name,id'})
    assert client._call(detail, dict) == {'name': 'beta', 'id': project['id']}
    assert client.data_collections.list({'fields': 'name'}) == [{'name': 'dc'}]
    assert client.get_data_unit(seeded['unit']['id'], {'fields': 'key'}) == {'key': 'a'}
    assert client.agents.list({'fields': 'name'}) == [{'name': 'local'}]
    assert client.storages.list({'fields': 'provider'}) == [{'provider': 'file_system'}]


@pytest.mark.parametrize(
    ('list_call', 'message'),
    [
        (
            lambda c: c.projects.list({'fields': 'id,colour'}),
            "400: Unknown field 'colour' in fields; known: created_at, data_collection, description, id, name",
        ),
        (
            lambda c: c.projects.list({'expand': 'data_collection'}),
            "400: Cannot expand 'data_collection'; expandable: nothing (projects have no expandable relation)",
        ),
        (lambda c: c.list_tasks({'expand': 'project'}), "400: Cannot expand 'project'; expandable: data_unit"),
        (
            lambda c: c.agents.list({'fields': 'secret'}),
            "400: Unknown field 'secret' in fields; known: id, name, status, url",
        ),
        (
            lambda c: c.jobs.list({'expand': 'agent'}),
            "400: Cannot expand 'agent'; expandable: nothing (jobs have no expandable relation)",
        ),
    ],
)
def test_unsupported_query_keys_are_refused(
    client: BackendClient, seeded: dict, list_call: Callable[[BackendClient], object], message: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        list_call(client)
    assert str(info.value) == message


def test_each_view_names_exactly_the_keys_its_resource_serializes(client: BackendClient, seeded: dict) -> None:
    agent = client.agents.list()[0]
    job = client.jobs.create({'action': 'train', 'agent': agent['id']})
    client.create_logs({'event': 'e', 'datetime': '2025-01-01T00:00:00Z', 'job': job['id']})
    release = client.plugin_releases.publish('p', '1.0.0', {'code': 'p'})
    model = client.models.create({'name': 'm'})
    app = client.serve_applications.create({'name': 'a', 'plugin_code': 'p'})
    dataset = client.datasets.create('ds')
    item = client.datasets.add_items(dataset['id'], [{'data': {}}])[0]
    samples = [
        (views.PROJECTS, seeded['projects'][0]),
        (views.DATA_COLLECTIONS, seeded['dc']),
        (views.DATA_UNITS, seeded['unit']),
        (views.DATA_FILES, client.data_files.upload(b'x', 'x.bin')),
        (views.TASKS, seeded['tasks'][0]),
        (views.PLUGINS, client.plugins.get('p')),
        (views.RELEASES, release),
        (views.JOBS, job),
        (views.LOGS, client.logs.list()[0]),
        (views.AGENTS, agent),
        (views.SERVE_APPLICATIONS, app),
        (views.MODELS, model),
        (views.STORAGES, client.storages.list()[0]),
        (views.DATASETS, dataset),
        (views.DATASET_ITEMS, item),
    ]
    for view, sample in samples:
        assert set(view.fields) == set(sample), view.name
