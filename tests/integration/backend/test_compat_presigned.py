"""Presigned file links (fetchable with no token header), safe upload names and strict file ids, over real HTTP."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from synapse_sdk.local.app import create_app
from synapse_sdk.local.presign import load_signing_key, sign
from synapse_sdk.local.routers._common import PRESIGN_TTL_KEY
from synapse_sdk.local.setup import init_local
from synapse_sdk.local.storage import store_stream


@dataclass
class Backend:
    url: str
    http: httpx.Client  # sends the token header
    app: Any
    state_dir: Path

    def upload(self, content: bytes, name: str) -> httpx.Response:
        return self.http.post('data_files/', files={'file': (name, content)})

    def unit_with_files(self) -> dict[str, Any]:
        specs = [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
        collection = self.http.post('data_collections/', json={'name': 'dc', 'file_specifications': specs}).json()
        image = self.upload(b'\xff\xd8 jpeg', 'a.jpg').json()
        label = self.upload(json.dumps({'label': 'cat'}).encode(), 'a.json').json()
        files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': label['id']}}
        body = {'data_collection': collection['id'], 'files': files, 'key': 'a'}
        return self.http.post('data_units/', json=body).json()


@pytest.fixture
def backend(tmp_path: Path, asgi_server: Any) -> Iterator[Backend]:
    state_dir = tmp_path / 'local'
    token = init_local(state_dir).token
    app = create_app(state_dir)
    with (
        asgi_server(app) as url,
        httpx.Client(base_url=url, headers={'Synapse-Access-Token': f'Token {token}'}) as http,
    ):
        yield Backend(url, http, app, state_dir)
    app.close()


def plain_get(url: str) -> tuple[int, bytes]:
    """What a plugin's ``urllib.request.urlopen(data_file_url)`` gets: no token header."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def detail(body: bytes) -> str:
    return json.loads(body)['detail']


def test_links_in_data_units_and_tasks_download_without_a_token(backend: Backend) -> None:
    unit = backend.unit_with_files()
    project = backend.http.post('projects/', json={'name': 'p', 'data_collection': unit['data_collection']}).json()
    task = backend.http.post('tasks/', json={'project': project['id'], 'data_unit': unit['id']}).json()
    got = backend.http.get(f'tasks/{task["id"]}/', params={'expand': 'data_unit'}).json()
    links = [got['data_unit']['files'][spec]['url'] for spec in ('image', 'annotation_data')]
    listed = backend.http.get('data_units/', params={'data_collection': unit['data_collection']}).json()
    links.append(listed['results'][0]['files']['annotation_data']['url'])
    assert [plain_get(url) for url in links] == [
        (200, b'\xff\xd8 jpeg'),
        (200, b'{"label": "cat"}'),
        (200, b'{"label": "cat"}'),
    ]
    query = parse_qs(urlsplit(links[0]).query)
    assert set(query) == {'expires', 'signature'}
    assert 3600 <= int(query['expires'][0]) - time.time() <= 3600 + 61  # an hour, rounded up to the minute
    plain = urlsplit(links[0])._replace(query='').geturl()
    assert backend.http.get(plain).content == b'\xff\xd8 jpeg'  # a token header still works
    assert plain_get(plain)[0] == 401  # ... and is still needed without a signature


def test_altered_or_expired_links_are_refused_with_the_reason(backend: Backend) -> None:
    unit = backend.unit_with_files()
    link = unit['files']['image']['url']
    other_id = unit['files']['annotation_data']['id']
    expires = parse_qs(urlsplit(link).query)['expires'][0]
    altered = {
        'another file': link.replace(f'/files/{unit["files"]["image"]["id"]}/', f'/files/{other_id}/'),
        'a later expiry': with_query(link, expires=str(int(expires) + 60)),
        'another signature': with_query(link, signature='0' * 64),
        'no expiry': link.split('expires=')[0] + 'signature=' + parse_qs(urlsplit(link).query)['signature'][0],
    }
    for what, url in altered.items():
        status, body = plain_get(url)
        assert status == 403, what
        if what == 'no expiry':
            assert detail(body).startswith("The link's 'expires' is missing or not a Unix time"), what
        else:
            assert detail(body).startswith('The link was altered or was not made by this backend'), what
    key = load_signing_key(backend.app.state.db)
    file_id = unit['files']['image']['id']
    past = int(time.time()) - 5
    status, body = plain_get(with_query(link, expires=str(past), signature=sign(key, file_id, past)))
    assert status == 403
    assert detail(body).startswith('The link expired at ') and 'ask the API for the file again' in detail(body)
    # a token header does not rescue a bad signature: a presigned request is judged by its signature
    assert backend.http.get(with_query(link, signature='0' * 64)).status_code == 403


def test_links_outlive_a_restart_and_do_not_open_another_backend(
    backend: Backend, tmp_path: Path, asgi_server: Any
) -> None:
    link = backend.unit_with_files()['files']['image']['url']
    path_and_query = link.split('/', 3)[3]  # the signature covers the file and the expiry, not the host
    again = create_app(backend.state_dir)  # the key is kept with the database
    other_dir = tmp_path / 'other'
    init_local(other_dir)
    other = create_app(other_dir)
    try:
        with asgi_server(again) as restarted_url, asgi_server(other) as other_url:
            assert plain_get(restarted_url + path_and_query) == (200, b'\xff\xd8 jpeg')
            status, body = plain_get(other_url + path_and_query)
    finally:
        again.close()
        other.close()
    assert status == 403
    assert detail(body).startswith('The link was altered or was not made by this backend')


def test_ttl_is_configurable(backend: Backend) -> None:
    backend.app.state.extras[PRESIGN_TTL_KEY] = 120
    link = backend.unit_with_files()['files']['image']['url']
    expires = int(parse_qs(urlsplit(link).query)['expires'][0])
    assert 120 <= expires - time.time() <= 120 + 61
    assert plain_get(link) == (200, b'\xff\xd8 jpeg')


def test_file_ids_are_plain_digits(backend: Backend) -> None:
    file_id = backend.upload(b'x', 'x.bin').json()['id']
    assert backend.http.get(f'files/{file_id}/').content == b'x'
    for spelling in (f'{file_id}.0', f'+{file_id}', f'0{file_id}_0', f'{file_id}e0', f' {file_id}'):
        response = backend.http.get(f'files/{spelling}/')
        assert (response.status_code, response.json()) == (404, {'detail': f'File {spelling} not found'})


def test_signatures_never_reach_the_access_log(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    link = backend.unit_with_files()['files']['image']['url']
    signature = parse_qs(urlsplit(link).query)['signature'][0]
    caplog.set_level(logging.INFO, logger='uvicorn.access')
    assert plain_get(link)[0] == 200
    assert plain_get(with_query(link, signature='f' * 64))[0] == 403
    lines = [record.getMessage() for record in caplog.records if record.name == 'uvicorn.access']
    assert any('/files/' in line and 'signature=[redacted]' in line for line in lines), lines
    assert all(signature not in line and 'f' * 64 not in line for line in lines)


def storage_leftovers(backend: Backend) -> list[str]:
    storage = backend.state_dir / 'storage'
    return sorted(str(p.relative_to(storage)) for p in storage.rglob('*') if p.is_file())


@pytest.mark.parametrize(
    ('name', 'reason'),
    [
        ('..', "file: '..' is not a file name: send the file's own name, e.g. 'image.jpg'"),
        ('.', "file: '.' is not a file name: send the file's own name, e.g. 'image.jpg'"),
        ('dir/..', "file: 'dir/..' is not a file name: send the file's own name, e.g. 'image.jpg'"),
        (
            'a' * 300,
            'file: the name is 300 bytes long (UTF-8); a file name may have at most 255: send a shorter one',
        ),
    ],
)
def test_unsafe_upload_names_are_400_and_leave_nothing(backend: Backend, name: str, reason: str) -> None:
    before = storage_leftovers(backend)
    response = backend.upload(b'content', name)
    assert (response.status_code, response.json()) == (400, {'detail': reason})
    assert storage_leftovers(backend) == before
    assert backend.http.get('data_units/').status_code == 200  # the backend is fine


def test_upload_keeps_only_the_last_path_component(backend: Backend) -> None:
    row = backend.upload(b'abc', '../../etc/passwd.txt').json()
    assert row['file_name_original'] == 'passwd.txt'
    assert [Path(p).name for p in storage_leftovers(backend)] == ['passwd.txt']
    assert plain_get(row['url']) == (200, b'abc')


def test_a_stream_failing_midway_leaves_no_part_file(backend: Backend) -> None:
    class Broken(BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise ConnectionResetError('client went away')
            return super().read(4)

    from synapse_sdk.local.paths import LocalPaths

    with pytest.raises(ConnectionResetError):
        store_stream(LocalPaths.resolve(backend.state_dir), Broken(b'0123456789'), 'big.bin')
    assert storage_leftovers(backend) == []
    assert [p for p in (backend.state_dir / 'storage').rglob('*') if p.is_dir() and len(p.name) == 32] == []


def test_release_codes_are_validated_like_plugin_codes(backend: Backend) -> None:
    for code in ('../../etc', '.hidden', 'a/b', ''):
        response = backend.http.post(
            'plugin_releases/',
            data={'plugin': code, 'version': '1.0.0', 'config': '{}'},
            files={'file': ('p.zip', b'z')},
        )
        assert response.status_code == 400, code
        assert response.json()['detail'].startswith('plugin: '), code
    bad_version = backend.http.post('plugin_releases/', data={'plugin': 'ok', 'version': '../1', 'config': '{}'})
    assert bad_version.status_code == 400 and bad_version.json()['detail'].startswith('version: ')
    assert backend.http.get('plugins/').json()['count'] == 0  # nothing was created
    assert storage_leftovers(backend) == []
