"""Both HTTP paths (the client's httpx and its aiohttp bulk session) against real servers on 127.0.0.1.

A cookie the backend sets never reaches another port of its host (nor comes back at all), and an
error body from storage outside the backend (S3 echoes the request's signature) never reaches a message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.exceptions import AuthorizationError

TOKEN = 'tok-SECRET-0123456789'
S3_403 = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
    b'<SignatureProvided>SIGabc123SECRET</SignatureProvided></Error>'
)


async def storage_and_backend(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/login`` sets a cookie; ``/seen`` answers the Cookie header it got; ``/s3`` and ``/denied`` refuse."""
    if scope['type'] != 'http':
        return
    headers = [(b'content-type', b'application/json')]
    status, body = 200, {'cookie': dict(scope['headers']).get(b'cookie', b'').decode() or None}
    if scope['path'] == '/login':
        headers.append((b'set-cookie', b'sessionid=COOKIESECRET; Path=/'))
    elif scope['path'] == '/s3':
        await send({'type': 'http.response.start', 'status': 403, 'headers': [(b'content-type', b'application/xml')]})
        await send({'type': 'http.response.body', 'body': S3_403})
        return
    elif scope['path'] == '/denied':
        status, body = 403, {'detail': 'You cannot see project 3'}
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': json.dumps(body).encode()})


@pytest.fixture
def two_ports(asgi_server: Any) -> Iterator[tuple[str, str]]:
    """The same host on two ports: the backend's (first) and another one."""
    with asgi_server(storage_and_backend) as backend, asgi_server(storage_and_backend) as other:
        # by name: aiohttp's default jar ignores cookies of IP addresses, which would hide a leak
        yield backend.replace('127.0.0.1', 'localhost'), other.replace('127.0.0.1', 'localhost')


@pytest.fixture
def client(two_ports: tuple[str, str]) -> Iterator[BackendClient]:
    with BackendClient(two_ports[0], TOKEN, retry=RetryPolicy(attempts=1)) as c:
        yield c


def run_aiohttp(client: BackendClient, calls: list[str]) -> list[object]:
    """Each URL fetched in turn over the client's bulk session (aiohttp); an error is kept as its text."""

    async def main() -> list[object]:
        async with client.bulk_session(2) as session:
            assert session.kind == 'aiohttp'
            out: list[object] = []
            for url in calls:
                try:
                    out.append(await session.download_json(url))
                except AuthorizationError as exc:
                    out.append(str(exc))
            return out

    return asyncio.run(main())


def test_the_clients_cookies_never_come_back(client: BackendClient, two_ports: tuple[str, str]) -> None:
    backend, other = two_ports
    assert client.download_json(f'{backend}login') == {'cookie': None}
    assert client.download_json(f'{other}seen') == {'cookie': None}  # another port of the same host
    assert client.download_json(f'{backend}seen') == {'cookie': None}  # nor to the backend itself


def test_the_aiohttp_paths_cookies_never_come_back(client: BackendClient, two_ports: tuple[str, str]) -> None:
    backend, other = two_ports
    assert run_aiohttp(client, [f'{backend}login', f'{other}seen', f'{backend}seen']) == [{'cookie': None}] * 3


def test_storage_error_bodies_stay_out_of_messages_on_both_paths(
    client: BackendClient, two_ports: tuple[str, str]
) -> None:
    backend, other = two_ports
    signed = f'{other}s3?X-Amz-Signature=SIGabc123SECRET'
    storage = f'403: {other.removeprefix("http://")}s3'
    with pytest.raises(AuthorizationError) as info:
        client.download_json(signed)
    assert str(info.value) == storage
    with pytest.raises(AuthorizationError) as own:
        client.download_json(f'{backend}denied')
    assert str(own.value) == '403: You cannot see project 3'  # the backend's own errors keep their detail
    assert run_aiohttp(client, [signed, f'{backend}denied']) == [storage, '403: You cannot see project 3']
