"""The local backend serves the review pages under /review/, behind the review key (not the API token)."""

from __future__ import annotations

import httpx
import pytest
from tests.integration.review.conftest import make_run

from synapse_sdk.review.app import KEY_HEADER

pytestmark = pytest.mark.integration


def test_the_local_backend_serves_a_runs_review_pages_with_its_key(local_backend, backend_client):
    run = make_run(backend_client, count=2)
    key = (local_backend.state_dir / 'review_key').read_text().strip()
    base = f'{local_backend.base_url}review/'
    first = run.task_ids[0]
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get(f'{run.run_id}/api/tasks').status_code == 403  # no key: the review refuses
        assert anonymous.get(f'{local_backend.base_url}projects/').status_code == 401  # the API still needs a token
        landing = anonymous.get(f'{run.run_id}/?key={key}')
        assert landing.status_code == 303 and landing.headers['location'].endswith(f'/review/{run.run_id}/')
        page = anonymous.get(f'{run.run_id}/')
        assert page.status_code == 200 and run.run_id in page.text
    with httpx.Client(base_url=base, headers={KEY_HEADER: key}) as reviewer:
        tasks = reviewer.get(f'{run.run_id}/api/tasks').json()
        assert [t['task_id'] for t in tasks['tasks']] == run.task_ids
        image = reviewer.get(f'{run.run_id}/image/{first}')
        assert image.status_code == 200 and image.content == run.images[first]  # through the backend itself
        decided = reviewer.post(f'{run.run_id}/api/decisions', json={'task_ids': [first], 'decision': 'approved'})
        assert decided.json()['counts']['approved'] == 1


def test_the_review_key_is_made_once_and_kept_private(local_backend):
    from synapse_sdk.local.app import review_key
    from synapse_sdk.local.paths import LocalPaths

    paths = LocalPaths.resolve(local_backend.state_dir)
    assert review_key(paths) == review_key(paths) == paths.review_key_file.read_text().strip()
    assert paths.review_key_file.stat().st_mode & 0o777 == 0o600
