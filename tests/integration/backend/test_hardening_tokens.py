"""Revoking tokens (at once in this process, within the cache time from another one) and read-only tokens."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.local.app import create_app
from synapse_sdk.local.auth import DEFAULT_TOKEN_CACHE_SECONDS
from synapse_sdk.local.setup import create_token, init_local, list_tokens, revoke_token

pytestmark = pytest.mark.integration

SYNAPSE = Path(sys.executable).parent / 'synapse'
runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    init_local(tmp_path / 'local')
    return tmp_path / 'local'


@contextmanager
def serve(asgi_server: Any, state: Path, **options: Any) -> Iterator[str]:
    backend = create_app(state, **options)
    try:
        with asgi_server(backend) as url:
            yield url
    finally:
        backend.close()


def get(url: str, token: str, path: str = 'projects/', method: str = 'GET', **kwargs: Any) -> httpx.Response:
    headers = {'Synapse-Access-Token': f'Token {token}'}
    return httpx.request(method, f'{url}{path}', headers=headers, timeout=30, **kwargs)


def test_a_token_revoked_in_this_process_is_refused_on_the_very_next_request(state: Path, asgi_server: Any) -> None:
    token = create_token('access', 'laptop', state)
    # a long cache: only the in-process invalidation can make the next request fail
    with serve(asgi_server, state, token_cache_seconds=600) as url:
        assert get(url, token).status_code == 200  # accepted, and now cached
        assert get(url, token).status_code == 200
        info = revoke_token('laptop', state)
        assert (info.kind, info.name) == ('access', 'laptop')
        refused = get(url, token)
        assert (refused.status_code, refused.json()) == (401, {'detail': 'Invalid token.'})
        assert refused.headers['www-authenticate'] == 'Token'


def test_a_token_revoked_by_another_process_stops_within_the_cache_time(state: Path, asgi_server: Any) -> None:
    token = create_token('access', 'ci', state)
    other = create_token('access', 'other', state)
    with serve(asgi_server, state) as url:
        assert get(url, token).status_code == 200  # cached for DEFAULT_TOKEN_CACHE_SECONDS
        done = subprocess.run(
            [str(SYNAPSE), 'local', 'token', 'revoke', 'ci', '--dir', str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        revoked_at = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert 'Revoked access token' in done.stdout and token not in done.stdout + done.stderr
        while get(url, token).status_code == 200:
            assert time.monotonic() - revoked_at < DEFAULT_TOKEN_CACHE_SECONDS + 1, 'still accepted'
            time.sleep(0.05)
        took = time.monotonic() - revoked_at
        print(f'\nrevoked by another process: refused after {took:.2f} s (cache {DEFAULT_TOKEN_CACHE_SECONDS:g} s)')
        assert took <= DEFAULT_TOKEN_CACHE_SECONDS + 0.5
        assert get(url, token).status_code == 401
        assert get(url, other).status_code == 200  # the others keep working

        # a row deleted behind the backend's back (another tool on the database) too
        with sqlite3.connect(state / 'synapse.db') as conn:
            conn.execute("DELETE FROM access_tokens WHERE name = 'other'")
        time.sleep(DEFAULT_TOKEN_CACHE_SECONDS + 0.1)
        assert get(url, other).status_code == 401


def test_revoke_by_id_name_and_the_local_token(state: Path) -> None:
    first = create_token('user', 'bot', state)
    create_token('user', 'bot', state)
    ambiguous = runner.invoke(app, ['local', 'token', 'revoke', 'bot'])
    assert ambiguous.exit_code == 1
    assert "Several tokens are named 'bot' (ids 2, 3): revoke one by its id" in ' '.join(ambiguous.output.split())
    unknown = runner.invoke(app, ['local', 'token', 'revoke', 'nope'])
    assert unknown.exit_code == 1
    assert "No token with id or name 'nope'; tokens: 1 (local), 2 (bot), 3 (bot)" in ' '.join(unknown.output.split())

    by_id = runner.invoke(app, ['local', 'token', 'revoke', '2'])
    assert by_id.exit_code == 0, by_id.output
    assert "Revoked user token 2 'bot'" in by_id.output and first not in by_id.output
    assert [(t.id, t.name) for t in list_tokens(state)] == [(1, 'local'), (3, 'bot')]

    # the token of the access_token file: that file goes too, and the next local client gets a new one
    local = (state / 'access_token').read_text().strip()
    gone = runner.invoke(app, ['local', 'token', 'revoke', 'local'])
    assert gone.exit_code == 0, gone.output
    assert 'It was the local token of' in gone.output and not (state / 'access_token').exists()
    from synapse_sdk.local.connect import connect_local

    with connect_local(state, in_process=True) as client:
        assert client.storages.list()[0]['name'] == 'local'
    assert (state / 'access_token').read_text().strip() != local


def test_a_read_only_token_may_read_but_not_write(state: Path, asgi_server: Any) -> None:
    created = runner.invoke(app, ['local', 'token', 'create', '--read-only', '--name', 'review'])
    assert created.exit_code == 0, created.output
    assert 'New read-only access token' in created.output
    token = created.output.strip().splitlines()[-1].strip()
    full = (state / 'access_token').read_text().strip()

    with serve(asgi_server, state) as url:
        project = get(url, full, 'projects/', 'POST', json={'name': 'shared'}).json()
        assert get(url, token).json()['results'][0]['name'] == 'shared'
        assert get(url, token, f'projects/{project["id"]}/').status_code == 200
        assert get(url, token, 'projects/', 'HEAD').status_code in (200, 405)  # never 403
        for method, path in (
            ('POST', 'projects/'),
            ('PUT', 'tasks/1/annotate_task_data/'),
            ('PATCH', 'jobs/1/'),
            ('DELETE', f'projects/{project["id"]}/'),
        ):
            refused = get(url, token, path, method, json={'name': 'changed'})
            assert refused.status_code == 403, (method, refused.text)
            assert refused.json() == {
                'detail': f'This token is read-only: it may only read (GET, HEAD), not {method}. '
                'Use a read-write token for changes (`synapse local token create`).'
            }
        assert [p['name'] for p in get(url, full).json()['results']] == ['shared']  # nothing changed
        # a user token can be read-only too
        user = create_token('user', 'viewer', state, read_only=True)
        as_user = httpx.post(f'{url}projects/', headers={'Authorization': f'Token {user}'}, json={'name': 'x'})
        assert as_user.status_code == 403

    listed = runner.invoke(app, ['local', 'token', 'list'])
    rows = [[cell.strip() for cell in line.split('│')[1:5]] for line in listed.output.splitlines() if '│' in line]
    assert rows == [
        ['1', 'access', 'local', 'read-write'],
        ['2', 'access', 'review', 'read-only'],
        ['3', 'user', 'viewer', 'read-only'],
    ]
    assert runner.invoke(app, ['local', 'token', 'revoke', 'review']).exit_code == 0
    with sqlite3.connect(state / 'synapse.db') as conn:  # its scope went with it
        assert conn.execute('SELECT token_id FROM token_scopes ORDER BY token_id').fetchall() == [(3,)]


def test_a_database_made_before_token_scopes_gets_the_table(state: Path, asgi_server: Any) -> None:
    with sqlite3.connect(state / 'synapse.db') as conn:
        conn.execute('DROP TABLE token_scopes')  # as databases of earlier versions are
    token = create_token('access', 'review', state, read_only=True)  # opening creates the table
    with serve(asgi_server, state) as url:
        assert get(url, token).status_code == 200
        assert get(url, token, 'projects/', 'POST', json={'name': 'x'}).status_code == 403
