"""The review server's HTTP side over real HTTP: the access key, the JSON API, images through the backend."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from tests.integration.review.conftest import ReviewRun, ReviewServer, box, make_run, png

from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.actions.to_task.record import open_run
from synapse_sdk.review.app import KEY_HEADER

pytestmark = pytest.mark.integration


def http(server: ReviewServer, *, key: bool = True) -> httpx.Client:
    headers = {KEY_HEADER: server.key} if key else {}
    return httpx.Client(base_url=f'{server.base_url}review/', headers=headers, follow_redirects=False)


def test_every_route_needs_the_key_and_the_printed_link_turns_it_into_a_strict_cookie(review_server, review_run):
    run = review_run.run_id
    with http(review_server, key=False) as anonymous:
        for method, path in [
            ('GET', f'{run}/api/tasks'),
            ('GET', f'{run}/api/counts'),
            ('GET', 'api/runs'),
            ('POST', f'{run}/api/decisions'),
            ('POST', f'{run}/api/commit'),
            ('GET', f'{run}/image/{review_run.task_ids[0]}'),
        ]:
            reply = anonymous.request(method, path, json={'task_ids': [1], 'decision': 'approved'})
            assert (reply.status_code, reply.json()) == (
                403,
                {'detail': 'No valid review key: open the link `synapse review RUN` printed'},
            ), path
        page = anonymous.get(f'{run}/')
        assert page.status_code == 403 and 'needs its key' in page.text
        assert anonymous.get(f'{run}/?key=wrong-key-wrong-key').status_code == 403
        landing = anonymous.get(f'{run}/?key={review_server.key}')
        assert landing.status_code == 303
        assert landing.headers['location'] == f'{review_server.base_url}review/{run}/'
        cookie = landing.headers['set-cookie']
        assert 'HttpOnly' in cookie and 'SameSite=strict' in cookie and 'Path=/review' in cookie
        page = anonymous.get(f'{run}/')  # the cookie is kept by the client now
        assert page.status_code == 200 and run in page.text
        csp = page.headers['content-security-policy']
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert 'http' not in page.text.replace(review_server.base_url, '').split('<body', 1)[0]  # no CDN in <head>


def test_tasks_decisions_and_counts(review_server, review_run: ReviewRun):
    ids = review_run.task_ids
    with http(review_server) as client:
        page = client.get(f'{review_run.run_id}/api/tasks', params={'offset': 1, 'limit': 2}).json()
        assert (page['total'], page['offset'], [t['task_id'] for t in page['tasks']]) == (4, 1, ids[1:3])
        assert page['classes'] == {'car': '#e6194b', 'person': '#3cb44b'}
        first = page['tasks'][0]
        assert first['image_url'] == f'image/{ids[1]}' and first['decision'] == 'pending'
        assert first['proposed'][0]['rect'] == [10.5, 20.25, 100.0, 125.0]
        assert [o['id'] for o in first['current']] == ['old1']

        reply = client.post(f'{review_run.run_id}/api/decisions', json={'task_ids': ids[:3], 'decision': 'approved'})
        assert reply.status_code == 200 and reply.json()['changed'] == 3
        reply = client.post(f'{review_run.run_id}/api/decisions', json={'task_ids': [ids[2]], 'decision': 'rejected'})
        counts = reply.json()['counts']
        assert (counts['pending'], counts['approved'], counts['rejected']) == (1, 2, 1)
        assert client.get(f'{review_run.run_id}/api/counts').json() == counts

        unknown = client.post(
            f'{review_run.run_id}/api/decisions', json={'task_ids': [ids[0], 999999], 'decision': 'approved'}
        )
        assert (unknown.status_code, unknown.json()) == (
            422,
            {
                'detail': f'task_ids: 1 of them are not tasks of run {review_run.run_id} (999999); '
                'send only ids that GET api/tasks lists'
            },
        )
        bad = client.post(f'{review_run.run_id}/api/decisions', json={'task_ids': [ids[0]], 'decision': 'maybe'})
        assert bad.status_code == 422 and bad.json()['detail'][0]['loc'] == ['body', 'decision']
        missing = client.get('20000101-000000-abcdef/api/tasks')
        assert missing.status_code == 404 and 'No run' in missing.json()['detail']
    with open_run(review_run.run_id) as record:
        assert [e.decision for e in record.entries()] == ['approved', 'approved', 'rejected', 'pending']


def test_images_come_through_the_backend_and_are_kept_in_the_run_folder(
    review_server, review_run: ReviewRun, backend_client: BackendClient
):
    first, second = review_run.task_ids[:2]
    with open_run(review_run.run_id) as record:  # a presigned link past use: the server asks for a fresh one
        entry = record.entry(second)
        assert entry is not None and entry.image is not None
        stale = entry.image['url'].replace('signature=', 'signature=00')
        record.propose(second, entry.current, entry.proposed, {**entry.image, 'url': stale}, entry.summary or {})
    with pytest.raises(Exception, match=r'^403: '):
        backend_client.data_files.download(stale)
    with http(review_server) as client:
        for task_id in (first, second):
            reply = client.get(f'{review_run.run_id}/image/{task_id}')
            assert (reply.status_code, reply.headers['content-type']) == (200, 'image/png')
            assert reply.content == review_run.images[task_id]
            assert (review_run.folder / 'images' / str(task_id)).read_bytes() == review_run.images[task_id]
        assert client.get(f'{review_run.run_id}/image/424242').json() == {
            'detail': f'Task 424242 is not part of run {review_run.run_id}'
        }


def test_a_primary_file_that_is_no_image_is_refused_with_the_reason(review_server, backend_client):
    run = make_run(backend_client, 1)
    text = backend_client.data_files.upload(b'plain text, not pixels', 'notes.png')
    with open_run(run.run_id) as record:
        entry = record.entry(run.task_ids[0])
        assert entry is not None
        record.propose(entry.task_id, entry.current, entry.proposed, {'url': text['url'], 'name': 'notes.png'}, {})
    with http(review_server) as client:
        reply = client.get(f'{run.run_id}/image/{entry.task_id}')
    assert (reply.status_code, reply.json()) == (
        404,
        {'detail': f'The primary file of task {entry.task_id} is not an image a browser can show'},
    )


def test_commit_of_a_run_of_another_backend_is_refused(review_server, review_run: ReviewRun):
    with open_run(review_run.run_id) as record:
        record.save_meta(record.meta().model_copy(update={'backend': 'instance:elsewhere', 'backend_url': 'http://x/'}))
        record.decide(review_run.task_ids[:1], 'approved')
    with http(review_server) as client:
        reply = client.post(f'{review_run.run_id}/api/commit', json={'approved_only': True})
    assert reply.status_code == 409
    assert reply.json()['detail'].startswith(f'Run {review_run.run_id} was made against http://x/, not the backend')


def test_the_runs_page_and_list(review_server, review_run: ReviewRun):
    with http(review_server) as client:
        runs = client.get('api/runs').json()
        assert [r['run_id'] for r in runs] == [review_run.run_id]
        page = client.get('')
    assert page.status_code == 200 and f'href="/review/{review_run.run_id}/"' in page.text


def test_importing_the_review_package_loads_no_web_framework():
    code = (
        'import sys, synapse_sdk.review, synapse_sdk.review.service, synapse_sdk.cli.review; '
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == '[]'


def test_a_real_dry_run_is_reviewed_and_committed_over_http(local_backend, review_server, backend_client):
    """ToTask's own dry run makes the record; the page's API shows it, with its images, and commits it."""
    from synapse_sdk.loggers import MemoryLogger
    from synapse_sdk.plugins.actions.to_task import ToTaskAction
    from synapse_sdk.plugins.executors import LocalExecutor

    collection = backend_client.data_collections.create(
        'dry-run', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    )
    project = backend_client.projects.create('dry-run', data_collection=collection['id'])['id']
    images, proposals = {}, {}
    for i in range(3):
        image = png(200 + 40 * i, 150, i)
        proposal = {'annotations': {'image_1': [box(f'd{i}', 'car', 5, 6, 50 + i, 40, 0.8)]}}
        files = {
            'image': {'file': backend_client.data_files.upload(image, f'd{i}.png')['id'], 'is_primary': True},
            'annotation_data': {
                'file': backend_client.data_files.upload(json.dumps(proposal).encode(), 'a.json')['id']
            },
        }
        unit = backend_client.data_units.create(collection['id'], files, key=f'd{i}')
        task_id = backend_client.tasks.create(project, data_unit=unit['id'])['id']
        images[task_id], proposals[task_id] = image, proposal
    params = {
        'name': 'prelabel',
        'project': project,
        'agent': 1,
        'target_specification_name': 'annotation_data',
        'dry_run': True,
    }
    executor = LocalExecutor(client=backend_client, logger_factory=MemoryLogger)
    result = executor.execute(ToTaskAction, params)
    assert (result.dry_run, result.success_count) == (True, 3)
    assert all(backend_client.get_task(t)['data'] == {} for t in images)  # a dry run writes nothing

    with http(review_server) as client:
        page = client.get(f'{result.run_id}/api/tasks').json()
        assert sorted(t['task_id'] for t in page['tasks']) == sorted(images)
        for task in page['tasks']:
            assert task['proposed'][0]['rect'] == [5.0, 6.0, 50.0 + list(images).index(task['task_id']), 40.0]
            assert client.get(f'{result.run_id}/image/{task["task_id"]}').content == images[task['task_id']]
        chosen = sorted(images)[:2]
        assert client.post(
            f'{result.run_id}/api/decisions', json={'task_ids': chosen, 'decision': 'approved'}
        ).is_success
        reply = client.post(f'{result.run_id}/api/commit', json={'approved_only': True}).json()
    assert (reply['report']['written'], reply['report']['conflicts'], reply['counts']['written']) == (2, [], 2)
    assert {t: backend_client.get_task(t)['data'] for t in images} == {
        t: proposals[t] if t in chosen else {} for t in images
    }
