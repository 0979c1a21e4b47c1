"""Bodies over the upload limit get 413 over real HTTP, with or without ``Content-Length``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from synapse_sdk.local.app import create_app
from synapse_sdk.local.setup import init_local

pytestmark = pytest.mark.integration

LIMIT = 1024
REFUSED = {'detail': f'Request body too large: the limit is {LIMIT} bytes'}


def chunks(body: bytes, size: int = 256) -> Iterator[bytes]:
    """A generator body: httpx sends it with ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def multipart(payload: bytes) -> bytes:
    return (
        b'--XBOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        b'Content-Type: application/octet-stream\r\n\r\n' + payload + b'\r\n--XBOUNDARY--\r\n'
    )


@pytest.fixture
def small_backend(tmp_path: Path, asgi_server: Any) -> Iterator[tuple[httpx.Client, Any]]:
    token = init_local(tmp_path / 'state').token
    app = create_app(tmp_path / 'state', max_upload_bytes=LIMIT)
    with (
        asgi_server(app) as url,
        httpx.Client(base_url=url, headers={'Synapse-Access-Token': f'Token {token}'}) as http,
    ):
        yield http, app
    app.close()


def test_chunked_multipart_and_json_over_the_limit_get_413(small_backend: tuple[httpx.Client, Any]) -> None:
    http, app = small_backend
    upload = http.post(
        'data_files/',
        content=chunks(multipart(b'x' * 5000)),
        headers={'Content-Type': 'multipart/form-data; boundary=XBOUNDARY'},
    )
    assert upload.request.headers.get('transfer-encoding') == 'chunked'
    assert 'content-length' not in upload.request.headers
    assert (upload.status_code, upload.json()) == (413, REFUSED)

    document = json.dumps({'name': 'n' * 3000}).encode()
    created = http.post('projects/', content=chunks(document), headers={'Content-Type': 'application/json'})
    assert (created.status_code, created.json()) == (413, REFUSED)

    declared = http.post('projects/', content=document, headers={'Content-Type': 'application/json'})
    assert declared.request.headers['content-length'] == str(len(document))
    assert (declared.status_code, declared.json()) == (413, REFUSED)

    # nothing was stored, and bodies under the limit still work, chunked too
    assert http.get('projects/').json()['count'] == 0
    assert list((app.state.paths.storage).rglob('*.bin')) == []
    small = http.post(
        'data_files/',
        content=chunks(multipart(b'y' * 100)),
        headers={'Content-Type': 'multipart/form-data; boundary=XBOUNDARY'},
    )
    assert (small.status_code, small.json()['size']) == (201, 100)
    ok = http.post('projects/', content=chunks(b'{"name": "fits"}'), headers={'Content-Type': 'application/json'})
    assert (ok.status_code, ok.json()['name']) == (201, 'fits')
