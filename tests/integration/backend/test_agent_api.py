"""AgentClient against the local backend's own agent (in-process): every endpoint of the spec's agent API."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from synapse_sdk.clients import AgentClient, AsyncAgentClient, BackendClient
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.inprocess import AsyncASGIRouter, SyncASGITransport
from synapse_sdk.exceptions import AuthenticationError, NotFoundError
from synapse_sdk.local.app import create_app
from synapse_sdk.local.connect import IN_PROCESS_URL

HOST = httpx.URL(IN_PROCESS_URL).host
GIB = 2**30


@pytest.fixture
def app(tmp_path: Path, client: BackendClient) -> Iterator[Any]:
    app = create_app(tmp_path / 'local')
    yield app
    app.close()


@pytest.fixture
def local_agent(client: BackendClient, tmp_path: Path) -> dict:
    """The local agent as ``agents/`` lists it, plus its token (kept only in ``<state dir>/agent_token``)."""
    return {**client.agents.list()[0], 'token': (tmp_path / 'local' / 'agent_token').read_text()}


@pytest.fixture
def agent(app: Any, local_agent: dict) -> Iterator[AgentClient]:
    with AgentClient(local_agent['url'], local_agent['token'], transport=SyncASGITransport(app, host=HOST)) as c:
        yield c


def expected_capacity() -> dict[str, float]:
    """This machine's figures, read here independently of the backend."""
    cpus: float = len(os.sched_getaffinity(0))
    quota = Path('/sys/fs/cgroup/cpu.max')
    if quota.exists() and quota.read_text().split()[0] != 'max':
        limit, period = quota.read_text().split()
        cpus = min(cpus, int(limit) / int(period))
    meminfo = dict(line.split(':', 1) for line in Path('/proc/meminfo').read_text().splitlines())
    memory = int(meminfo['MemTotal'].split()[0]) * 1024
    cap = Path('/sys/fs/cgroup/memory.max')
    if cap.exists() and cap.read_text().strip().isdigit():
        memory = min(memory, int(cap.read_text()))
    return {'cpu': cpus, 'memory_bytes': memory}


def no_gpu_tooling() -> bool:
    return shutil.which('nvidia-smi') is None and not Path('/proc/driver/nvidia/gpus').exists()


def test_the_local_agent_is_served_under_agent(local_agent: dict) -> None:
    assert local_agent['url'] == f'{IN_PROCESS_URL}agent/'
    assert local_agent['name'] == 'local'


def test_cluster_resources_are_this_machines(agent: AgentClient) -> None:
    snapshot = agent.get_cluster_resources(use_cache=False)
    expected = expected_capacity()
    total = snapshot['total']
    assert (total['cpu'], total['memory_bytes']) == (expected['cpu'], expected['memory_bytes'])
    assert 0 < snapshot['available']['memory_bytes'] <= total['memory_bytes']
    assert total['gpu'] == len(snapshot['nodes'][0]['gpus'])
    if no_gpu_tooling():
        assert total['gpu'] == 0
    node = snapshot['nodes'][0]
    assert (node['hostname'], node['alive'], node['resources']) == (socket.gethostname(), True, total)
    assert snapshot['cached'] is False
    assert agent.get_cluster_resources()['cached'] is True  # use_cache=true reuses the fresh snapshot
    assert agent.get_cluster_resources(use_cache=False)['cached'] is False
    assert agent.list_nodes() == [node]
    assert agent.gpu_status() == {'count': total['gpu'], 'gpus': node['gpus']}


def test_feasibility_compares_all_replicas_with_the_machine(agent: AgentClient) -> None:
    total = agent.get_cluster_resources()['total']
    small = agent.check_feasibility(num_cpus=0.5, num_gpus=0, replicas=1, memory_bytes=1024, metadata={'agent': 1})
    assert small == {'allowed': True, 'reasons': []}
    cpus, gpus, memory = total['cpu'], total['gpu'], total['memory_bytes']
    big = agent.check_feasibility(num_cpus=cpus, num_gpus=gpus + 1, replicas=2, memory_bytes=memory)

    def plural(n: float, unit: str) -> str:
        return f'{n:g} {unit}' + ('' if n == 1 else 's')

    assert big == {
        'allowed': False,
        'reasons': [
            f'needs {plural(cpus * 2, "CPU")} ({plural(cpus, "CPU")} per replica x 2 replicas); '
            f'this agent has {plural(cpus, "CPU")}',
            f'needs {plural((gpus + 1) * 2, "GPU")} ({plural(gpus + 1, "GPU")} per replica x 2 replicas); '
            f'this agent has {plural(gpus, "GPU")}',
            f'needs {memory * 2 / GIB:.1f} GiB of memory ({memory / GIB:.1f} GiB per replica x 2 replicas); '
            f'this agent has {memory / GIB:.1f} GiB of memory',
        ],
    }
    policy = agent.get_resource_policy()
    assert (policy['capacity'], policy['overcommit'], policy['placement']) == (total, False, 'single node')


def test_system_health_and_the_views_without_ray(agent: AgentClient, tmp_path: Path) -> None:
    system = agent.system()
    assert (system['hostname'], system['pid'], system['disk']['path']) == (
        socket.gethostname(),
        os.getpid(),
        str(tmp_path / 'local'),
    )
    assert system['ray'] == {'initialized': False, 'version': importlib.metadata.version('ray')}
    assert agent.health() == {'status': 'ok'}
    assert (agent.list_tasks(), agent.list_containers(), agent.list_builds()) == ([], [], [])
    iterator, count = agent.list_tasks(list_all=True)
    assert (list(iterator), count) == ([], 0)


def test_jobs_and_serve_applications_are_this_agents(
    agent: AgentClient, client: BackendClient, local_agent: dict
) -> None:
    client.plugin_releases.publish('yolo', '1.0.0', {'code': 'yolo'})
    mine = client.run_plugin('yolo', {'agent': local_agent['id'], 'action': 'train', 'params': {'e': 1}})['job_id']
    remote = client.agents.connect(client._call(Call('POST', 'agents/', json={'name': 'gpu-box'}), dict)['token'])
    theirs = client.jobs.create({'action': 'train', 'agent': remote['id']})['id']
    assert [job['id'] for job in agent.list_jobs()] == [mine]
    assert agent.get_job(mine)['params'] == {'e': 1}
    with pytest.raises(NotFoundError, match=rf'^404: Job {theirs} not found on this agent$'):
        agent.get_job(theirs)
    by_agent = client.serve_applications.create({'name': 'a', 'plugin_code': 'yolo', 'agent': local_agent['id']})
    by_job = client.serve_applications.create({'name': 'b', 'plugin_code': 'yolo', 'job': mine})
    client.serve_applications.create({'name': 'c', 'plugin_code': 'yolo', 'agent': remote['id']})
    assert agent.list_serve_applications() == [by_agent, by_job]
    assert agent.list_serve_applications({'name': 'b'}) == [by_job]


def test_run_plugin_release_starts_a_job_on_this_agent(
    agent: AgentClient, client: BackendClient, local_agent: dict
) -> None:
    release = client.plugin_releases.publish('yolo', '1.2.0', {'code': 'yolo'})
    by_id = agent.run_plugin_release(release['id'], {'action': 'train', 'params': {'epochs': 2}, 'debug': None})
    by_name = agent.run_plugin_release('yolo@1.2.0', {'action': 'export'})
    for answer, action, params in ((by_id, 'train', {'epochs': 2}), (by_name, 'export', {})):
        job = client.get_job(answer['job_id'])
        assert (job['agent'], job['plugin_release'], job['action'], job['params'], job['meta']) == (
            local_agent['id'],
            release['id'],
            action,
            params,
            {'run': {'version': '1.2.0'}},
        )
    with pytest.raises(NotFoundError, match=r"^404: Plugin 'ghost' not found$"):
        agent.run_plugin_release('ghost@1.0.0', {'action': 'train'})
    with pytest.raises(ValueError, match=r"^Unknown run key 'agent'; expected some of: action, params, "):
        agent.run_plugin_release(release['id'], {'action': 'train', 'agent': 3})


def test_agent_paths_take_only_the_agent_token(app: Any, client: BackendClient, local_agent: dict) -> None:
    transport = SyncASGITransport(app, host=HOST)
    with AgentClient(local_agent['url'], 'not-the-agent-token', transport=transport) as wrong:
        with pytest.raises(AuthenticationError, match=r'^401: Invalid agent token\.$'):
            wrong.system()
        assert wrong.health() == {'status': 'ok'}  # liveness needs no token
    with pytest.raises(
        AuthenticationError, match=r'^401: Authentication credentials were not provided\. The backend at'
    ):
        client._call(Call('GET', 'agent/system/'), dict)  # the backend's access token is not the agent's
    with AgentClient(local_agent['url'], local_agent['token'], transport=SyncASGITransport(app, host=HOST)) as a:
        with pytest.raises(AuthenticationError, match=r'^401: Authentication credentials were not provided\.$'):
            a._call(Call('GET', f'{IN_PROCESS_URL}projects/'), dict)  # nor the agent's token the backend's


def test_async_agent_client(app: Any, local_agent: dict) -> None:
    async def main() -> tuple[object, object]:
        transport = AsyncASGIRouter(app, host=HOST)
        async with AsyncAgentClient(local_agent['url'], local_agent['token'], transport=transport) as agent:
            return await agent.health(), await agent.list_jobs()

    assert asyncio.run(main()) == ({'status': 'ok'}, [])


def test_connect_local_agent_finds_the_agent_and_its_token(tmp_path: Path) -> None:
    from synapse_sdk.local.connect import connect_local_agent

    with connect_local_agent(tmp_path / 'fresh', in_process=True) as agent:
        assert agent.base_url == f'{IN_PROCESS_URL}agent/'
        assert agent.system()['disk']['path'] == str(tmp_path / 'fresh')
