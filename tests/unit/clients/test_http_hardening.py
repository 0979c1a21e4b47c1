"""What the client shells never leak or keep: tokens in reprs, storage error bodies, cookies; and capped bodies."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from synapse_sdk.clients import AsyncBackendClient, BackendClient, RetryPolicy
from synapse_sdk.clients.base.call import error_for_response
from synapse_sdk.exceptions import AuthorizationError, NotFoundError, RateLimitError, ResponseTooLargeError

TOKEN = 'tok-SECRET-0123456789'
FAST = RetryPolicy(attempts=1)
S3_403 = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
    b'<SignatureProvided>SIGabc123SECRET</SignatureProvided><StringToSign>AWS4-HMAC-SHA256 x</StringToSign></Error>'
)
SIGNED = 'https://bucket.s3.example.com/data/a.json?X-Amz-Credential=AKIA&X-Amz-Signature=SIGabc123SECRET'


def test_bulk_session_reprs_hold_no_token() -> None:
    with BackendClient('https://api.example.test/', TOKEN) as client:
        sessions = [client.bulk_session(4), client.bulk_session(4, threaded=True)]
        texts = [repr(sessions[0]), repr(sessions[1]), repr(sessions[0]._sender), repr(client), str(client.retry)]
        asyncio.run(sessions[0].aclose())
        asyncio.run(sessions[1].aclose())
    assert texts[:2] == [
        "BulkSession('https://api.example.test/', AiohttpSender, width=4)",
        "BulkSession('https://api.example.test/', ThreadedSender, width=4)",
    ]
    for text in texts:
        assert TOKEN not in text


def test_an_error_from_storage_outside_the_backend_never_echoes_its_body() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == 'api.example.com' and request.url.port is None:
            return httpx.Response(403, json={'detail': 'You cannot see project 3'})
        return httpx.Response(403, content=S3_403, headers={'content-type': 'application/xml'})

    with BackendClient('https://api.example.com', TOKEN, transport=httpx.MockTransport(handle), retry=FAST) as client:
        with pytest.raises(AuthorizationError) as storage:
            client.download_json(SIGNED)
        with pytest.raises(AuthorizationError) as other_port:
            client.data_files.download('https://api.example.com:8443/files/1/?sig=SIGabc123SECRET')
        with pytest.raises(AuthorizationError) as own:
            client.get_project(3)
    assert str(storage.value) == '403: bucket.s3.example.com/data/a.json'
    assert str(other_port.value) == '403: api.example.com:8443/files/1/'  # another port is another origin
    assert str(own.value) == '403: You cannot see project 3'  # the backend's own detail is kept


def test_the_async_client_maps_storage_errors_the_same_way() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404, content=S3_403))

    async def main() -> str:
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=transport, retry=FAST) as client:
            with pytest.raises(NotFoundError) as info:
                await client.download_json(SIGNED)
        return str(info.value)

    assert asyncio.run(main()) == '404: bucket.s3.example.com/data/a.json'


def test_the_shared_error_mapping_takes_the_foreign_url() -> None:
    storage = error_for_response(403, S3_403, 'application/xml', None, foreign_url=SIGNED)
    assert (type(storage), str(storage)) == (AuthorizationError, '403: bucket.s3.example.com/data/a.json')
    throttled = error_for_response(429, b'SlowDown SIGabc123SECRET', 'text/plain', '2', foreign_url=SIGNED)
    assert (type(throttled), str(throttled), throttled.retry_after) == (
        RateLimitError,
        '429: bucket.s3.example.com/data/a.json',
        2.0,
    )
    own = error_for_response(404, b'{"detail": "no such task"}', 'application/json', None)
    assert str(own) == '404: no such task'


def test_cookies_a_response_sets_are_never_sent_again() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={'set-cookie': 'sessionid=COOKIESECRET; Path=/'})

    with BackendClient('https://api.example.com', TOKEN, transport=httpx.MockTransport(handle)) as client:
        client.get_project(1)
        client.get_project(2)  # the backend itself
        client.download_json('https://api.example.com:8443/f.json')  # another port of its host
        client.download_json('http://api.example.com/f.json')  # another scheme

    async def main() -> None:
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=httpx.MockTransport(handle)) as c:
            await c.get_project(1)
            await c.download_json('https://api.example.com:8443/f.json')

    asyncio.run(main())
    assert [(str(r.url), r.headers.get('cookie')) for r in seen] == [
        ('https://api.example.com/projects/1/', None),
        ('https://api.example.com/projects/2/', None),
        ('https://api.example.com:8443/f.json', None),
        ('http://api.example.com/f.json', None),
        ('https://api.example.com/projects/1/', None),
        ('https://api.example.com:8443/f.json', None),
    ]


def _chunks(*parts: bytes) -> httpx.Response:
    return httpx.Response(200, content=iter(parts))  # no Content-Length: sent chunked


@pytest.mark.parametrize(
    'response',
    [
        httpx.Response(200, content=b'x' * 11),  # refused on its Content-Length
        _chunks(b'x' * 6, b'x' * 5),  # refused once the 11th byte arrives
        httpx.Response(200, content=gzip.compress(b'x' * 11), headers={'content-encoding': 'gzip'}),  # unpacked size
    ],
    ids=['declared', 'chunked', 'gzip'],
)
def test_a_download_over_max_bytes_is_refused(response: httpx.Response) -> None:
    with BackendClient('https://api.example.com', TOKEN, transport=httpx.MockTransport(lambda r: response)) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            client.data_files.download('https://api.example.com/files/1/?sig=SIGabc123SECRET', max_bytes=10)
    assert (str(info.value), info.value.limit) == (
        '200: The response to GET api.example.com/files/1/ is larger than 10 bytes',
        10,
    )


def test_a_download_within_max_bytes_is_returned_whole() -> None:
    answers = iter(
        [
            _chunks(b'x' * 6, b'y' * 4),
            httpx.Response(200, content=gzip.compress(b'z' * 10), headers={'content-encoding': 'gzip'}),
        ]
    )
    with BackendClient('https://api.example.com', TOKEN, transport=httpx.MockTransport(lambda r: next(answers))) as c:
        assert c.data_files.download('https://api.example.com/files/1/', max_bytes=10) == b'xxxxxxyyyy'
        assert c.data_files.download('https://api.example.com/files/2/', max_bytes=10) == b'z' * 10


def test_the_async_client_caps_downloads_too() -> None:
    async def body(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    answers = iter([httpx.Response(200, content=body(b'a' * 4, b'b' * 4)), httpx.Response(200, content=body(b'c' * 9))])

    async def main() -> tuple[bytes, str]:
        transport = httpx.MockTransport(lambda r: next(answers))
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=transport) as client:
            small = await client.data_files.download('https://api.example.com/files/1/', max_bytes=8)
            with pytest.raises(ResponseTooLargeError) as info:
                await client.data_files.download('https://api.example.com/files/2/', max_bytes=8)
        return small, str(info.value)

    assert asyncio.run(main()) == (
        b'aaaabbbb',
        '200: The response to GET api.example.com/files/2/ is larger than 8 bytes',
    )
