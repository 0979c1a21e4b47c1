"""AgentClient: agent auth headers, agent timeouts, feasibility body."""

from __future__ import annotations

import json

import httpx

from synapse_sdk.clients import AgentClient


def test_agent_headers_timeouts_and_feasibility_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={'allowed': False, 'reasons': ['no GPU']})

    client = AgentClient(
        'http://agent.example:8080',
        'agent-tok-123',
        user_token='user-tok',
        tenant='acme',
        transport=httpx.MockTransport(handler),
    )
    answer = client.check_feasibility(num_cpus=2, num_gpus=1, replicas=2, metadata={'plugin_code': 'yolo', 'agent': 3})
    assert answer == {'allowed': False, 'reasons': ['no GPU']}
    request = seen[0]
    assert (request.method, request.url.path) == ('POST', '/resources/feasibility/')
    assert request.headers['Authorization'] == 'agent-tok-123'
    assert request.headers['SYNAPSE-User'] == 'Token user-tok'
    assert request.headers['SYNAPSE-Tenant'] == 'Token acme'
    assert json.loads(request.content) == {
        'kind': 'serve',
        'num_cpus': 2,
        'num_gpus': 1,
        'memory_bytes': None,
        'replicas': 2,
        'metadata': {'plugin_code': 'yolo', 'agent': 3},
    }
    assert request.extensions['timeout'] == {'connect': 3.0, 'read': 10.0, 'write': 10.0, 'pool': 10.0}
    client.close()
