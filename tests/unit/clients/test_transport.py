"""Retries, errors and pagination of the client shells, against httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from synapse_sdk.clients import AsyncBackendClient, BackendClient, RetryPolicy
from synapse_sdk.exceptions import (
    AuthenticationError,
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
    ServerError,
)

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.002)
TOKEN = 'tok-SECRET-0123456789'


def scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def make(transport: httpx.MockTransport, retry: RetryPolicy = FAST) -> BackendClient:
    return BackendClient('https://api.example.com', TOKEN, tenant='acme', transport=transport, retry=retry)


def test_get_is_retried_on_503_then_succeeds() -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(503), httpx.Response(200, json={'id': 1}))
    assert make(transport).get_project(1) == {'id': 1}
    assert len(seen) == 3


def test_retries_are_bounded_and_end_in_server_error() -> None:
    transport, seen = scripted(httpx.Response(502, json={'detail': 'bad gateway'}))
    with pytest.raises(ServerError, match=r'^502: bad gateway$'):
        make(transport).get_project(1)
    assert len(seen) == 3


def test_post_is_not_retried_after_it_was_sent() -> None:
    transport, seen = scripted(httpx.Response(503, json={'detail': 'busy'}))
    with pytest.raises(ServerError, match=r'^503: busy$'):
        make(transport).run_plugin('yolo', {'agent': 1, 'action': 'deployment', 'params': {}})
    assert len(seen) == 1


def test_post_is_retried_when_the_connection_was_never_made() -> None:
    transport, seen = scripted(httpx.ConnectError('refused'), httpx.Response(200, json={'job_id': 5}))
    assert make(transport).run_plugin('yolo', {'agent': 1, 'action': 'deployment'}) == {'job_id': 5}
    assert len(seen) == 2


def test_patch_is_not_retried_on_a_lost_connection() -> None:
    transport, seen = scripted(httpx.ReadError('reset'))
    with pytest.raises(
        ClientConnectionError, match=r'^0: Could not connect \(ReadError\): PATCH api.example.com/jobs/3/$'
    ):
        make(transport).update_job(3, {'status': 'RUNNING'})
    assert len(seen) == 1


def test_put_is_retried_on_a_lost_connection() -> None:
    transport, seen = scripted(httpx.ReadError('reset'), httpx.Response(200, json={'id': 4, 'data': {}}))
    assert make(transport).annotate_task_data(4, {}) == {'id': 4, 'data': {}}
    assert len(seen) == 2


def test_429_honours_retry_after() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=2, backoff=0.001, sleep=waits.append)  # observe the wait instead of sleeping
    transport, seen = scripted(httpx.Response(429, headers={'Retry-After': '7'}), httpx.Response(200, json={'id': 1}))
    assert make(transport, policy).get_project(1) == {'id': 1}
    assert waits == [7.0]
    assert len(seen) == 2


def test_retry_after_is_capped_and_backoff_is_bounded() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, backoff=0.25, max_backoff=0.4, max_retry_after=3.0, sleep=waits.append)
    transport, _ = scripted(
        httpx.Response(429, headers={'Retry-After': '999'}),
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(200, json={'id': 1}),
    )
    assert make(transport, policy).get_project(1) == {'id': 1}
    assert waits[0] == 3.0
    assert all(0 <= wait <= 0.4 for wait in waits[1:])  # full jitter under max_backoff
    assert len(waits) == 3


def test_async_transport_waits_with_its_own_sleep() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(attempts=2, async_sleep=record)
    transport, _ = scripted(httpx.Response(429, headers={'Retry-After': '2.5'}), httpx.Response(200, json={'id': 3}))

    async def main() -> object:
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=transport, retry=policy) as client:
            return await client.get_task(3)

    assert asyncio.run(main()) == {'id': 3}
    assert waits == [2.5]


def test_rate_limit_error_carries_retry_after_when_retries_run_out() -> None:
    transport, _ = scripted(httpx.Response(429, headers={'Retry-After': '0'}, json={'detail': 'slow down'}))
    with pytest.raises(RateLimitError, match=r'^429: slow down$') as info:
        make(transport).get_task(1)
    assert info.value.retry_after == 0.0


@pytest.mark.parametrize(
    ('status', 'body', 'cls', 'text'),
    [
        (400, {'name': ['required']}, RequestValidationError, '400: {"name":["required"]}'),
        (
            401,
            {'detail': 'Invalid token.'},
            AuthenticationError,
            '401: Invalid token. The backend at https://api.example.com/ refused the access token given to the client; '
            'pass a valid one, or run `synapse login --host https://api.example.com/` and make the client with '
            'create_backend_client()',
        ),
        (404, {'detail': 'Task 9 not found'}, NotFoundError, '404: Task 9 not found'),
        (422, {'detail': 'data: must be an object'}, RequestValidationError, '422: data: must be an object'),
        (500, 'boom', ServerError, '500: boom'),
    ],
)
def test_error_classes_and_messages(status: int, body: object, cls: type[ClientError], text: str) -> None:
    response = httpx.Response(status, json=body) if not isinstance(body, str) else httpx.Response(status, text=body)
    transport, _ = scripted(response)
    with pytest.raises(cls) as info:
        make(transport, RetryPolicy(attempts=1)).get_task(9)
    assert str(info.value) == text
    assert info.value.status_code == status


def test_read_timeout_becomes_client_timeout_error() -> None:
    transport, _ = scripted(httpx.ReadTimeout('slow'))
    with pytest.raises(ClientTimeoutError, match=r'^408: Request timed out: GET api.example.com/tasks/1/$'):
        make(transport, RetryPolicy(attempts=1)).get_task(1)


def test_auth_headers_go_only_to_the_backend_host() -> None:
    transport, seen = scripted(httpx.Response(200, json={'a': 1}))
    client = make(transport)
    client.download_json('https://api.example.com/files/1/')
    client.download_json('https://bucket.example.net/x.json?X-Amz-Signature=abc')
    assert seen[0].headers['Synapse-Access-Token'] == f'Token {TOKEN}'
    assert seen[0].headers['Synapse-Tenant'] == 'Token acme'
    assert 'Synapse-Access-Token' not in seen[1].headers
    assert 'Synapse-Tenant' not in seen[1].headers


def test_user_token_uses_the_authorization_header() -> None:
    transport, seen = scripted(httpx.Response(200, json={'id': 1}))
    BackendClient('https://api.example.com', 'acc', user_token='usr-token', transport=transport).get_project(1)
    assert seen[0].headers['Authorization'] == 'Token usr-token'
    assert 'Synapse-Access-Token' not in seen[0].headers


def _pages(base: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get('page', '1'))
        nxt = f'{base}sdk/tasks/?page={page + 1}' if page < 3 else None
        return httpx.Response(200, json={'count': 5, 'next': nxt, 'previous': None, 'results': [{'id': page}]})

    return httpx.MockTransport(handler)


def test_list_tasks_follows_next_on_the_same_host() -> None:
    client = make(_pages('https://api.example.com/'))
    assert client.list_tasks({'project': 1}) == [{'id': 1}, {'id': 2}, {'id': 3}]
    iterator, count = client.list_tasks({'project': 1}, list_all=True)
    assert count == 5
    assert list(iterator) == [{'id': 1}, {'id': 2}, {'id': 3}]


def test_next_on_another_host_stops_with_an_error() -> None:
    client = make(_pages('https://evil.example.org/'))
    with pytest.raises(
        ClientError, match=r"^200: Refusing to follow pagination link to another host \('evil.example.org'\)"
    ):
        client.list_tasks({'project': 1})


def test_next_with_another_scheme_is_refused() -> None:
    client = make(_pages('http://api.example.com/'))
    with pytest.raises(ClientError, match='Refusing to follow pagination link'):
        client.list_tasks({})


def test_a_bare_list_is_accepted() -> None:
    transport, _ = scripted(httpx.Response(200, json=[{'id': 1}, {'id': 2}]))
    iterator, count = make(transport).list_tasks({}, list_all=True)
    assert (list(iterator), count) == ([{'id': 1}, {'id': 2}], 2)


def test_filters_are_encoded_on_the_wire() -> None:
    transport, seen = scripted(httpx.Response(200, json={'count': 0, 'next': None, 'previous': None, 'results': []}))
    make(transport).list_tasks(
        {'project': 3, 'assignee': None, 'status__in': ['pending', 'in_progress'], 'fields': 'id'}
    )
    assert dict(seen[0].url.params) == {
        'page_size': '100',
        'project': '3',
        'assignee': 'null',
        'status__in': 'pending,in_progress',
        'fields': 'id',
    }


def test_run_plugin_omits_none_values() -> None:
    transport, seen = scripted(httpx.Response(200, json={'job_id': 1}))
    make(transport).run_plugin(
        'yolo', {'agent': 2, 'action': 'inference', 'params': {}, 'version': None, 'language': None}
    )
    assert json.loads(seen[0].content) == {'agent': 2, 'action': 'inference', 'params': {}}


def test_annotate_wraps_plain_data_and_passes_schema_any() -> None:
    transport, seen = scripted(httpx.Response(200, json={'id': 1}))
    client = make(transport)
    client.annotate_task_data(1, {'objects': []}, schema='any')
    client.annotate_task_data(1, {'action': 'submit', 'data': {'k': 1}})
    assert json.loads(seen[0].content) == {'action': 'submit', 'data': {'objects': []}}
    assert seen[0].url.params['schema'] == 'any'
    assert json.loads(seen[1].content) == {'action': 'submit', 'data': {'k': 1}}
    assert 'schema' not in seen[1].url.params


def test_no_token_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger='synapse_sdk')
    transport, _ = scripted(
        httpx.Response(503, json={'detail': f'echo Token {TOKEN}'}),
        httpx.Response(500, text=f'token={TOKEN}'),
        httpx.ConnectError(f'failed with {TOKEN}'),
    )
    client = make(transport, RetryPolicy(attempts=2, backoff=0.001))
    messages = []
    for call in (lambda: client.get_task(1), lambda: client.get_task(2), lambda: client.get_task(3)):
        with pytest.raises(ClientError) as info:
            call()
        messages.append(str(info.value))
        messages.append(repr(info.value.detail))
    assert all(TOKEN not in text for text in [*messages, caplog.text])
    assert any('Retrying GET api.example.com/tasks/' in record.getMessage() for record in caplog.records)


def test_async_client_has_the_same_surface() -> None:
    async def main() -> tuple[object, object, list[object]]:
        transport = httpx.MockTransport(
            lambda request: (
                httpx.Response(200, json={'count': 1, 'next': None, 'previous': None, 'results': [{'id': 7}]})
                if request.url.path == '/sdk/tasks/'
                else httpx.Response(200, json={'id': 7})
            )
        )
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=transport, retry=FAST) as client:
            task = await client.get_task(7)
            listed = await client.list_tasks({'project': 1})
            iterator, count = await client.list_tasks({'project': 1}, list_all=True)
            return task, listed, [count, [item async for item in iterator]]

    assert asyncio.run(main()) == ({'id': 7}, [{'id': 7}], [1, [{'id': 7}]])


def test_async_retries_like_sync() -> None:
    transport, seen = scripted(httpx.Response(504), httpx.Response(200, json={'id': 1}))

    async def main() -> object:
        async with AsyncBackendClient('https://api.example.com', TOKEN, transport=transport, retry=FAST) as client:
            return await client.get_project(1)

    assert asyncio.run(main()) == {'id': 1}
    assert len(seen) == 2


def test_bulk_sender_is_aiohttp_for_a_network_client_and_the_client_itself_otherwise():
    from synapse_sdk.clients.base.bulk import AiohttpSender, ThreadedSender

    policy = RetryPolicy(attempts=2, backoff=0.1)
    timeout = httpx.Timeout(7.0, connect=2.0)
    with BackendClient('https://api.example.test/base', TOKEN, timeout=timeout, retry=policy) as plain:
        sender = plain.bulk_sender(8, budget=30)
        assert isinstance(sender, AiohttpSender) and sender.width == 8
        assert (sender._connect_timeout, sender._read_timeout) == (2.0, 7.0)
        assert sender._policy.budget.seconds == 30.0 and sender._policy.attempts == 2
        assert isinstance(plain.bulk_sender(8, threaded=True), ThreadedSender)
        assert plain.bulk_fallback_reason() is None
    transport, _ = scripted(httpx.Response(200, json={}))
    with BackendClient('https://api.example.test/', TOKEN, transport=transport) as custom:
        assert isinstance(custom.bulk_sender(4), ThreadedSender)  # only the client can send through its transport
        assert custom.bulk_fallback_reason() is None


def test_a_bulk_session_sends_the_clients_own_calls_with_its_retries_and_errors():
    transport, seen = scripted(
        httpx.Response(503),
        httpx.Response(200, json={'id': 7, 'data': {}}),
        httpx.Response(404, json={'detail': 'Task 8 not found'}),
    )

    async def main() -> tuple[object, str]:
        with make(transport) as client:
            async with client.bulk_session(2) as session:
                task = await session.get_task(7, params={'fields': 'id,data'})
                with pytest.raises(NotFoundError) as missing:
                    await session.get_task(8)
                return task, str(missing.value)

    assert asyncio.run(main()) == ({'id': 7, 'data': {}}, '404: Task 8 not found')
    assert [(r.method, str(r.url)) for r in seen] == [
        ('GET', 'https://api.example.com/tasks/7/?fields=id%2Cdata'),
        ('GET', 'https://api.example.com/tasks/7/?fields=id%2Cdata'),
        ('GET', 'https://api.example.com/tasks/8/'),
    ]
    assert seen[0].headers['Synapse-Access-Token'] == f'Token {TOKEN}'


class CutShort(httpx.SyncByteStream):
    """A body that breaks off half-way (the connection closed before Content-Length bytes came)."""

    def __iter__(self):
        yield b'{"id": 1, "da'
        raise httpx.RemoteProtocolError('peer closed connection without sending complete message body')


def test_reads_are_retried_on_500_read_timeouts_and_bodies_cut_short():
    transport, seen = scripted(
        httpx.Response(500, json={'detail': 'boom'}),
        httpx.ReadTimeout('slow'),
        httpx.Response(200, stream=CutShort(), headers={'content-type': 'application/json'}),
        httpx.Response(200, json={'id': 1}),
    )
    assert make(transport, RetryPolicy(attempts=4, backoff=0.001)).get_project(1) == {'id': 1}
    assert len(seen) == 4


def test_a_body_cut_short_on_the_last_attempt_is_a_connection_error_of_its_own_kind():
    transport, _ = scripted(httpx.Response(200, stream=CutShort()))
    with pytest.raises(ClientConnectionError) as info:
        make(transport, RetryPolicy(attempts=1)).get_task(1)
    assert info.value.kind == 'incomplete'
    assert str(info.value) == '0: Incomplete response body (RemoteProtocolError): GET api.example.com/tasks/1/'


def test_a_put_is_not_repeated_after_a_lost_answer_when_writes_are_resolved_by_the_caller():
    transport, seen = scripted(httpx.ReadTimeout('slow'), httpx.Response(200, json={'id': 4}))
    policy = RetryPolicy(attempts=3, backoff=0.001, retry_writes=False)
    with pytest.raises(ClientTimeoutError, match=r'^408: Request timed out: PUT api.example.com/tasks/4/'):
        make(transport, policy).annotate_task_data(4, {})
    assert len(seen) == 1
    refused, seen = scripted(httpx.Response(429, headers={'Retry-After': '0'}), httpx.Response(200, json={'id': 4}))
    assert make(refused, policy).annotate_task_data(4, {}) == {'id': 4}  # a 429 never ran: repeated
    assert len(seen) == 2


def test_a_shared_retry_budget_bounds_the_waiting_of_many_requests():
    from synapse_sdk.clients.base.retry import RetryBudget

    waits: list[float] = []
    budget = RetryBudget(1.0)
    policy = RetryPolicy(attempts=10, backoff=0.4, max_backoff=0.4, sleep=waits.append, budget=budget)
    transport, seen = scripted(httpx.Response(503))
    client = make(transport, policy)
    for task_id in (1, 2, 3):
        with pytest.raises(ServerError):
            client.get_task(task_id)
    assert sum(waits) <= 1.0 and budget.left == 0.0
    assert len(seen) < 30  # far fewer than 3 requests x 10 attempts: the budget ran out
