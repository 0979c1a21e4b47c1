"""The local backend's API through the sync client over the in-process transport (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.clients.base.inprocess import SyncASGITransport
from synapse_sdk.exceptions import AuthenticationError, ClientError, NotFoundError, RequestValidationError
from synapse_sdk.local.app import create_app
from synapse_sdk.local.connect import IN_PROCESS_URL


def make_unit(client: BackendClient, project: dict, stem: str) -> dict:
    image = client.data_files.upload(b'\xff\xd8 fake jpeg', f'{stem}.jpg')
    ann = client.data_files.upload(json.dumps({'stem': stem}).encode(), f'{stem}.json')
    files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': ann['id']}}
    return client.data_units.create(project['data_collection'], files, key=stem)


def test_requests_without_a_valid_token_get_401(tmp_path: Path, client: BackendClient) -> None:
    app = create_app(tmp_path / 'local')
    for token in (None, 'wrong-token-value'):
        anonymous = BackendClient(IN_PROCESS_URL, token, transport=SyncASGITransport(app))
        with pytest.raises(AuthenticationError) as info:
            anonymous.get_project(1)
        expected = 'Authentication credentials were not provided.' if token is None else 'Invalid token.'
        assert str(info.value).startswith(f'401: {expected} The backend at {IN_PROCESS_URL}')
        anonymous.close()


def test_task_round_trip_for_to_task(client: BackendClient, project: dict) -> None:
    unit = make_unit(client, project, 'a')
    task = client.tasks.create(project['id'], data_unit=unit['id'])
    got = client.get_task(task['id'], {'fields': 'id,data,data_unit', 'expand': 'data_unit'})
    assert set(got) == {'id', 'data', 'data_unit'}
    files = got['data_unit']['files']
    assert files['image']['is_primary'] is True and files['image']['file_name_original'] == 'a.jpg'
    assert client.download_json(files['annotation_data']['url']) == {'stem': 'a'}
    assert client.data_files.download(files['image']['url']) == b'\xff\xd8 fake jpeg'
    updated = client.annotate_task_data(task['id'], {'objects': [1]})
    assert updated['data'] == {'objects': [1]}
    assert client.get_task(task['id'])['data_unit'] == unit['id']
    url = client.get_data_unit(unit['id'])['files']['annotation_data']['url']
    assert urlsplit(url).path.endswith(f'/files/{files["annotation_data"]["id"]}/')  # presigned: ?expires=&signature=


def test_identical_annotate_changes_nothing(client: BackendClient, project: dict) -> None:
    task = client.tasks.create(project['id'])
    first = client.annotate_task_data(task['id'], {'k': 1})
    second = client.annotate_task_data(task['id'], {'k': 1})
    assert first == second  # updated_at included
    changed = client.annotate_task_data(task['id'], {'k': 2})
    assert changed['data'] == {'k': 2} and changed['updated_at'] > first['updated_at']
    assert client.get_task(task['id']) == changed


def test_annotate_body_errors_name_the_field(client: BackendClient, project: dict) -> None:
    task = client.tasks.create(project['id'])
    with pytest.raises(RequestValidationError) as info:
        client.annotate_task_data(task['id'], {'action': 'save', 'data': [1]})
    assert str(info.value) == "400: action: Input should be 'submit'; data: Input should be a valid dictionary"


def test_filters(client: BackendClient, project: dict) -> None:
    other_dc = client.data_collections.create('other', [{'name': 'image'}])
    other_unit = client.data_units.create(other_dc['id'], {})
    unit = make_unit(client, project, 'x')
    t1 = client.tasks.create(project['id'], data_unit=unit['id'], assignee=5, status='done')
    t2 = client.tasks.create(project['id'], data_unit=other_unit['id'], status='in_progress')
    t3 = client.tasks.create(project['id'])
    ids = lambda params: [t['id'] for t in client.list_tasks({'project': project['id'], 'fields': 'id', **params})]  # noqa: E731
    assert ids({}) == [t1['id'], t2['id'], t3['id']]
    assert ids({'data_collection': project['data_collection']}) == [t1['id']]
    assert ids({'data_collection': other_dc['id']}) == [t2['id']]
    assert ids({'data_collection': None}) == [t3['id']]
    assert ids({'assignee': 5}) == [t1['id']]
    assert ids({'assignee': None}) == [t2['id'], t3['id']]
    assert ids({'assignee': 6}) == []
    assert ids({'assignee__in': [5, None]}) == [t1['id'], t2['id'], t3['id']]
    assert ids({'status': 'pending'}) == [t3['id']]
    assert ids({'status__in': ['pending', 'done']}) == [t1['id'], t3['id']]
    assert ids({'status__in': ['in_progress']}) == [t2['id']]
    assert ids({'status__in': ['pending', 'done', 'in_progress']}) == [t1['id'], t2['id'], t3['id']]
    assert ids({'status': 'done', 'assignee': 5}) == [t1['id']]  # keys combine with AND
    assert ids({'status': 'pending', 'assignee': 5}) == []
    assert ids({'id__in': [t1['id'], t3['id']]}) == [t1['id'], t3['id']]
    assert ids({'created_at__gte': '2000-01-01', 'created_at__lte': '2999-01-01T00:00:00Z'}) == ids({})
    assert ids({'created_at__lte': '2000-01-01'}) == []


def test_long_id__in_lists_select_exactly_their_tasks(client: BackendClient, project: dict) -> None:
    created = [client.tasks.create(project['id'], data={'n': n})['id'] for n in range(40)]
    wanted = created[3:37:2]  # 17 ids: sent to SQLite as one JSON parameter
    assert len(wanted) >= 16
    listed = client.list_tasks({'project': project['id'], 'id__in': wanted, 'fields': 'id,data'})
    assert listed == [{'id': task_id, 'data': {'n': created.index(task_id)}} for task_id in wanted]
    repeated = client.list_tasks({'id__in': [*wanted[:10], *wanted[:10]], 'fields': 'id'})
    assert [t['id'] for t in repeated] == wanted[:10]


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        ({'colour': 'red'}, "400: Unknown filter 'colour'"),
        ({'status__regex': 'p.*'}, "400: Unknown filter 'status__regex'"),
        ({'assignee': 'bob'}, "400: Invalid value 'bob' for filter 'assignee': expected an integer or null"),
        (
            {'created_at__gte': 'yesterday'},
            "400: Invalid value 'yesterday' for filter 'created_at__gte': expected an ISO date or datetime",
        ),
        (
            {'fields': 'id,colour'},
            "400: Unknown field 'colour' in fields; known: assignee, created_at, data, data_unit, id, project, status, "
            'updated_at',
        ),
        ({'page': 0}, "400: Invalid value '0' for page: expected a positive integer"),
    ],
)
def test_bad_queries_are_refused_by_name(client: BackendClient, params: dict, message: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        client.list_tasks(params)
    assert str(info.value) == message


def test_pagination_pages_and_next_links(client: BackendClient, project: dict) -> None:
    for _ in range(5):
        client.tasks.create(project['id'])
    iterator, count = client.list_tasks({'project': project['id'], 'page_size': 2, 'fields': 'id'}, list_all=True)
    assert count == 5
    assert [t['id'] for t in iterator] == [1, 2, 3, 4, 5]
    with pytest.raises(NotFoundError, match=r'^404: Invalid page\.$'):
        client.list_tasks({'page': 9})


def test_unknown_ids_give_404_with_detail(client: BackendClient) -> None:
    cases = [
        (lambda: client.get_project(42), '404: Project 42 not found'),
        (lambda: client.get_data_collection(42), '404: Data collection 42 not found'),
        (lambda: client.get_data_unit(42), '404: Data unit 42 not found'),
        (lambda: client.get_task(42), '404: Task 42 not found'),
        (lambda: client.get_job(42), '404: Job 42 not found'),
        (lambda: client.get_plugin_release(42), '404: Plugin release 42 not found'),
        (lambda: client.get_plugin_release('nope@1.0.0'), "404: Plugin 'nope' not found"),
        (lambda: client.get_model(42), '404: Model 42 not found'),
        (lambda: client.get_storage(42), '404: Storage 42 not found'),
    ]
    for call, message in cases:
        with pytest.raises(NotFoundError) as info:
            call()
        assert str(info.value) == message


def test_oversized_upload_is_refused_with_413(tmp_path: Path, client: BackendClient) -> None:
    token = (tmp_path / 'local' / 'access_token').read_text()
    app = create_app(tmp_path / 'local', max_upload_bytes=1024)
    with BackendClient(IN_PROCESS_URL, token, transport=SyncASGITransport(app)) as small:
        assert small.data_files.upload(b'x' * 100, 'ok.bin')['size'] == 100
        with pytest.raises(ClientError) as info:
            small.data_files.upload(b'x' * 5000, 'big.bin')
    assert str(info.value) == '413: Request body too large: the limit is 1024 bytes'


def test_release_publish_keeps_config_whole_and_run_records_a_job(client: BackendClient) -> None:
    config = {
        'code': 'yolo-pre',
        'name': 'YOLO',
        'category': 'neural_net',
        'actions': {
            'inference': {'required_resources': {'required_cpu_count': 2, 'num_replicas': 2, 'memory': 4294967296}},
            'deployment': {'serve_options': {'batch': {'max_batch_size': 8}}},
        },
        'x_unknown': [1, 2],
    }
    release = client.plugin_releases.publish('yolo-pre', '1.2.0', config, b'PK\x03\x04zip')
    assert client.get_plugin_release(release['id'])['config'] == config
    assert client.get_plugin_release('yolo-pre@1.2.0')['id'] == release['id']
    assert client.data_files.download(release['file']) == b'PK\x03\x04zip'
    with pytest.raises(RequestValidationError, match=r'^400: version: release yolo-pre@1.2.0 already exists$'):
        client.plugin_releases.publish('yolo-pre', '1.2.0', config)

    agent = client.agents.list()[0]
    answer = client.run_plugin('yolo-pre', {'agent': agent['id'], 'action': 'train', 'params': {'epochs': 1}})
    job = client.get_job(answer['job_id'])
    assert (job['status'], job['action'], job['params'], job['plugin_release'], job['meta']) == (
        'PENDING',
        'train',
        {'epochs': 1},  # the action's params, as the action receives them
        release['id'],
        {'run': {'version': '1.2.0'}},
    )
    with pytest.raises(RequestValidationError, match=r'^400: agent: Field required$'):
        client.run_plugin('yolo-pre', {'action': 'train'})
    with pytest.raises(NotFoundError, match=r"^404: Plugin 'ghost' not found$"):
        client.run_plugin('ghost', {'agent': 1, 'action': 'train'})


def test_jobs_logs_and_serve_applications(client: BackendClient) -> None:
    agent = client.agents.list()[0]
    assert client.jobs.list() == []
    created = client.jobs.create({'action': 'deployment', 'agent': agent['id']})
    progress = {'record': {'steps': {'s': {'proportion': 70}}}, 'current_progress': {'overall': 42.5}}
    patched = client.update_job(created['id'], {'status': 'RUNNING', 'progress_record': progress})
    assert (patched['status'], patched['progress_record']) == ('RUNNING', progress)
    with pytest.raises(RequestValidationError, match=r"^400: status: Input should be 'PENDING', "):
        client.update_job(created['id'], {'status': 'DANCING'})
    entry = {'event': 'message', 'data': {'content': 'hi'}, 'datetime': '2025-01-01T00:00:00Z', 'job': created['id']}
    assert client.create_logs([entry, entry]) == {'count': 2}
    assert client.create_logs(entry) == {'count': 1}
    assert len(client.logs.list({'job': created['id']})) == 3
    app = client.serve_applications.create(
        {'name': 'yolo', 'plugin_code': 'yolo-pre', 'job': created['id'], 'status': 'DEPLOYING'}
    )
    assert client.list_serve_applications(plugin_code='yolo-pre', job__agent=agent['id']) == [app]
    assert client.list_serve_applications(plugin_code='yolo-pre', job__agent=agent['id'] + 1) == []
    assert client.serve_applications.update(app['id'], {'status': 'RUNNING'})['status'] == 'RUNNING'


def test_models_and_storages(client: BackendClient) -> None:
    file = client.data_files.upload(b'weights', 'best.pt')
    model = client.models.create({'name': 'm', 'file': file['id'], 'metadata': {'map': 0.5}})
    assert client.get_model(model['id'])['metadata'] == {'map': 0.5}
    assert client.data_files.download(model['file']) == b'weights'
    assert client.storages.list()[0]['provider'] == 'file_system'


def test_malformed_json_body_is_400(tmp_path: Path, client: BackendClient) -> None:
    token = (tmp_path / 'local' / 'access_token').read_text()
    with httpx.Client(transport=SyncASGITransport(create_app(tmp_path / 'local')), base_url=IN_PROCESS_URL) as raw:
        response = raw.post(
            'projects/',
            content=b'{"name": ',
            headers={'Synapse-Access-Token': f'Token {token}', 'Content-Type': 'application/json'},
        )
    assert response.status_code == 400
    assert response.json()['detail'].startswith('body: Malformed JSON')


def test_serve_applications_take_all_seven_platform_statuses(client: BackendClient) -> None:
    from synapse_sdk.enums import ServeAppStatus

    spec = ['NOT_STARTED', 'DEPLOYING', 'RUNNING', 'UNHEALTHY', 'DEPLOY_FAILED', 'UNAVAILABLE', 'DELETING']
    assert sorted(ServeAppStatus) == sorted(spec)
    assert {s.value for s in ServeAppStatus if s.is_failure()} == {'DEPLOY_FAILED', 'UNHEALTHY', 'UNAVAILABLE'}
    assert {s.value for s in ServeAppStatus if s.is_terminal()} == {
        'RUNNING',
        'DEPLOY_FAILED',
        'UNHEALTHY',
        'UNAVAILABLE',
    }
    apps = [client.serve_applications.create({'name': s, 'plugin_code': 'p', 'status': s}) for s in spec]
    assert [a['status'] for a in apps] == spec
    gone = client.serve_applications.update(apps[2]['id'], {'status': 'UNAVAILABLE'})
    assert gone['status'] == 'UNAVAILABLE'
    iterator, count = client.list_serve_applications({'status': 'UNAVAILABLE'}, list_all=True)
    assert ([a['id'] for a in iterator], count) == ([apps[2]['id'], apps[5]['id']], 2)
    with pytest.raises(RequestValidationError, match=r"^400: status: Input should be 'NOT_STARTED', "):
        client.serve_applications.create({'name': 'x', 'plugin_code': 'p', 'status': 'BROKEN'})


def test_every_route_is_behind_the_token_gate(tmp_path: Path, client: BackendClient) -> None:
    import re

    from synapse_sdk.local.app import ROUTERS
    from synapse_sdk.local.auth import OPEN_PATHS

    app = create_app(tmp_path / 'local')
    checked = 0
    routes = [route for module in ROUTERS for route in module.router.routes]
    with httpx.Client(transport=SyncASGITransport(app), base_url=IN_PROCESS_URL) as anonymous:
        for route in routes:
            path = re.sub(r'\{[^}]+\}', '1', route.path)
            for method in sorted(route.methods - {'HEAD'}):
                response = anonymous.request(method, path.lstrip('/'))
                if route.path in OPEN_PATHS:
                    assert response.status_code == 200, route.path
                    continue
                assert (response.status_code, response.json()) == (
                    401,
                    {'detail': 'Authentication credentials were not provided.'},
                ), f'{method} {route.path}'
                checked += 1
    app.close()
    assert checked > 50
