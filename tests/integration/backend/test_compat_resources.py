"""The resources and query spellings the platform's own client uses: ``expand`` of inline relations,
``plugin_releases/?plugin=<code>``, ``task_tags/``, ``ground_truth_datasets/``, ``ground_truths/``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from synapse_sdk.local.app import create_app
from synapse_sdk.local.setup import init_local


@pytest.fixture
def http(tmp_path: Path, asgi_server: Any) -> Iterator[httpx.Client]:
    state_dir = tmp_path / 'local'
    token = init_local(state_dir).token
    app = create_app(state_dir)
    with asgi_server(app) as url, httpx.Client(base_url=url, headers={'Synapse-Access-Token': f'Token {token}'}) as c:
        yield c
    app.close()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return response.json()['detail']


def test_expanding_an_inline_relation_is_a_no_op(http: httpx.Client) -> None:
    specs = [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    created = ok(http.post('data_collections/', json={'name': 'dc', 'file_specifications': specs}), 201)
    plain = ok(http.get(f'data_collections/{created["id"]}/'))
    assert ok(http.get(f'data_collections/{created["id"]}/', params={'expand': 'file_specifications'})) == plain
    assert [spec['name'] for spec in plain['file_specifications']] == ['image', 'annotation_data']
    listed = ok(http.get('data_collections/', params={'expand': 'file_specifications'}))
    assert listed['results'] == [plain]
    # what the platform refuses stays refused, naming what can be expanded
    detail = refused(http.get(f'data_collections/{created["id"]}/', params={'expand': 'projects'}))
    assert detail == "Cannot expand 'projects'; expandable: file_specifications"
    assert refused(http.get('data_collections/', params={'colour': 'red'})) == "Unknown filter 'colour'"


def publish(http: httpx.Client, code: str, version: str) -> dict[str, Any]:
    config = json.dumps({'code': code, 'name': code.title(), 'category': 'pre_annotation'})
    return ok(http.post('plugin_releases/', data={'plugin': code, 'version': version, 'config': config}), 201)


def test_releases_are_listed_by_plugin_code_or_id(http: httpx.Client) -> None:
    first = publish(http, 'yolo-pre', '1.0.0')
    second = publish(http, 'yolo-pre', '1.1.0')
    publish(http, 'other', '0.1.0')
    by_code = ok(http.get('plugin_releases/', params={'plugin': 'yolo-pre'}))
    assert [r['version'] for r in by_code['results']] == ['1.0.0', '1.1.0']
    by_id = ok(http.get('plugin_releases/', params={'plugin': str(first['plugin'])}))
    assert by_id['results'] == by_code['results']
    assert ok(http.get('plugin_releases/', params={'plugin': 'missing'}))['count'] == 0
    assert ok(http.get('plugin_releases/', params={'plugin_code': 'other'}))['results'][0]['version'] == '0.1.0'
    expanded = ok(http.get('plugin_releases/yolo-pre@1.1.0/', params={'expand': 'plugin'}))
    assert (expanded['id'], expanded['plugin']['code'], expanded['plugin']['name']) == (
        second['id'],
        'yolo-pre',
        'Yolo-Pre',
    )
    listed = ok(http.get('plugin_releases/', params={'plugin': 'yolo-pre', 'expand': 'plugin', 'fields': 'plugin'}))
    assert [r['plugin']['id'] for r in listed['results']] == [first['plugin'], first['plugin']]


def test_task_tags_are_kept_listed_and_read(http: httpx.Client) -> None:
    project = ok(http.post('projects/', json={'name': 'p'}), 201)
    tag = ok(http.post('task_tags/', json={'project': project['id'], 'name': 'hard', 'meta': {'colour': 'red'}}), 201)
    assert {k: tag[k] for k in ('project', 'name', 'category', 'description', 'meta')} == {
        'project': project['id'],
        'name': 'hard',
        'category': 'project',
        'description': '',
        'meta': {'colour': 'red'},
    }
    export = ok(http.post('task_tags/', json={'name': 'exported', 'category': 'export'}), 201)
    assert ok(http.get(f'task_tags/{tag["id"]}/')) == tag
    assert ok(http.get('task_tags/'))['results'] == [tag, export]
    assert ok(http.get('task_tags/', params={'project': project['id']}))['results'] == [tag]
    assert ok(http.get('task_tags/', params={'category': 'export', 'fields': 'name'}))['results'] == [
        {'name': 'exported'}
    ]
    again = http.post('task_tags/', json={'project': project['id'], 'name': 'hard'})
    assert refused(again) == f"name: a task tag named 'hard' already exists for project {project['id']}"
    assert refused(http.post('task_tags/', json={'project': 999, 'name': 'x'}), 404) == 'Project 999 not found'
    assert refused(http.post('task_tags/', json={'name': 'x', 'category': 'other'})).startswith('category: ')
    assert refused(http.get('task_tags/1.0/'), 404) == 'Task tag 1.0 not found'


def labelled_unit(http: httpx.Client, collection: int, stem: str) -> dict[str, Any]:
    image = ok(http.post('data_files/', files={'file': (f'{stem}.jpg', f'img-{stem}'.encode())}), 201)
    body = {'data_collection': collection, 'files': {'image': {'file': image['id'], 'is_primary': True}}, 'key': stem}
    return ok(http.post('data_units/', json=body), 201)


def test_ground_truths_of_datasets_and_versions(http: httpx.Client) -> None:
    specs = [{'name': 'image', 'is_primary': True}]
    collection = ok(http.post('data_collections/', json={'name': 'dc', 'file_specifications': specs}), 201)['id']
    units = [labelled_unit(http, collection, stem) for stem in 'ab']
    dataset = ok(http.post('ground_truth_datasets/', json={'name': 'cats', 'data_collection': collection}), 201)
    v1 = ok(
        http.post('ground_truth_dataset_versions/', json={'name': 'v1', 'ground_truth_dataset': dataset['id']}), 201
    )
    loose = ok(http.post('ground_truth_dataset_versions/', json={'name': 'loose'}), 201)
    assert (v1['ground_truth_dataset'], loose['ground_truth_dataset']) == (dataset['id'], None)
    events = [
        {'ground_truth_dataset_version': v1['id'], 'data_unit': units[0]['id'], 'category': 'train', 'data': {'k': 0}},
        {'ground_truth_dataset_version': v1['id'], 'data_unit': units[1]['id'], 'category': 'valid', 'data': {'k': 1}},
        {'ground_truth_dataset_version': loose['id'], 'data': {'k': 2}},
    ]
    ok(http.post('ground_truth_events/', json=events), 201)

    versions = ok(http.get('ground_truth_dataset_versions/', params={'ground_truth_dataset': dataset['id']}))
    assert [(v['name'], v['count']) for v in versions['results']] == [('v1', 2)]
    assert ok(http.get(f'ground_truth_dataset_versions/{v1["id"]}/'))['ground_truth_dataset'] == dataset['id']
    assert ok(http.get(f'ground_truth_datasets/{dataset["id"]}/'))['versions'] == [v1['id']]
    assert [
        d['name'] for d in ok(http.get('ground_truth_datasets/', params={'data_collection': collection}))['results']
    ] == ['cats']

    truths = ok(http.get('ground_truths/', params={'ground_truth_dataset': dataset['id'], 'page_size': 1}))
    assert truths['count'] == 2 and truths['next'] is not None
    everything = ok(http.get('ground_truths/', params={'ground_truth_dataset_versions': v1['id']}))['results']
    assert [(t['data'], t['category'], t['ground_truth_dataset']) for t in everything] == [
        ({'k': 0}, 'train', dataset['id']),
        ({'k': 1}, 'valid', dataset['id']),
    ]
    with urllib.request.urlopen(everything[1]['files']['image']['url'], timeout=10) as response:  # no token
        assert response.read() == b'img-b'
    alone = ok(http.get('ground_truths/', params={'ground_truth_dataset_version': loose['id']}))['results']
    assert [(t['files'], t['data_unit'], t['ground_truth_dataset']) for t in alone] == [({}, None, None)]
    assert ok(http.get(f'ground_truths/{everything[0]["id"]}/', params={'fields': 'id,data'})) == {
        'id': everything[0]['id'],
        'data': {'k': 0},
    }
    assert refused(http.get('ground_truths/', params={'is_deleted': 'true'})) == "Unknown filter 'is_deleted'"
    missing = http.post('ground_truth_dataset_versions/', json={'name': 'x', 'ground_truth_dataset': 42})
    assert refused(missing, 404) == 'Ground truth dataset 42 not found'
