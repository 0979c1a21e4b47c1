"""Requests/s and server CPU per request of the local backend, over real HTTP on 127.0.0.1.

Four request kinds, the ones the ToTask file method sends:

- ``list ids``: ``sdk/tasks/?project=P&fields=id&page_size=100&page=k`` (the id scan)
- ``list id__in+expand``: ``sdk/tasks/?project=P&id__in=<100 ids>&fields=id,data,data_unit&expand=data_unit``
- ``file GET``: ``files/{id}/`` (the annotation JSON of a data unit)
- ``annotate PUT``: ``tasks/{id}/annotate_task_data/``

Each is sent by our sync BackendClient (sequential, and 16 threads) and by raw aiohttp at the same
concurrency (the baseline: the server's capacity without our client's overhead). ``server ms CPU/req``
is the server process's user+system CPU time (from ``/proc``) over the aiohttp run, per request.

    .venv/bin/python bench/backend_throughput.py [--tasks 1000] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from synapse_sdk.clients import BackendClient
from synapse_sdk.local.setup import init_local
from synapse_sdk.local.transfer import import_folder

CONCURRENCY = 16
PAGE = 100

Request = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Workload:
    name: str
    wire: Callable[[int], Request]  #: i → (method, path, JSON body) for aiohttp
    client: Callable[[int], object]  #: i → one call through BackendClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_server(state_dir: str, port: int) -> subprocess.Popen[bytes]:
    code = f'from synapse_sdk.local.server import serve; serve("127.0.0.1", {port}, state_dir={state_dir!r})'
    proc = subprocess.Popen([sys.executable, '-c', code])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError('server did not start')


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def threaded(n: int, one: Callable[[int], object]) -> None:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(n)))


async def aiohttp_rate(base: str, token: str, n: int, make: Callable[[int], Request]) -> float:
    headers = {'Synapse-Access-Token': f'Token {token}'}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            method, path, body = make(i)
            async with sem, session.request(method, base + path, json=body) as response:
                assert response.status == 200, (response.status, await response.text())
                await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def make_folder(root: Path, n: int) -> Path:
    folder = root / 'data'
    folder.mkdir()
    for i in range(n):
        (folder / f'img{i:06d}.jpg').write_bytes(b'\xff\xd8' + os.urandom(2048))
        (folder / f'img{i:06d}.json').write_text(json.dumps({'boxes': [[i, i, 10, 10]], 'label': 'cat'}))
    return folder


def workloads(client: BackendClient, project: int, ids: list[int], files: list[str]) -> list[Workload]:
    pages = max(1, -(-len(ids) // PAGE))  # ceil: every page that exists, however few tasks there are
    chunks = [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]
    ids_query = {'project': project, 'fields': 'id', 'page_size': PAGE}
    ids_path = f'sdk/tasks/?project={project}&fields=id&page_size={PAGE}'

    def in_query(i: int) -> dict[str, Any]:
        chunk = chunks[i % len(chunks)]
        return {
            'project': project,
            'id__in': ','.join(map(str, chunk)),
            'fields': 'id,data,data_unit',
            'expand': 'data_unit',
            'page_size': PAGE,
        }

    def in_path(i: int) -> str:
        return 'sdk/tasks/?' + '&'.join(f'{k}={v}' for k, v in in_query(i).items())

    def put(i: int) -> Request:
        body = {'action': 'submit', 'data': {'i': -i, 'boxes': [[1, 2, 3, 4]]}}
        return 'PUT', f'tasks/{ids[i % len(ids)]}/annotate_task_data/', body

    return [
        Workload(
            'list ids',
            lambda i: ('GET', f'{ids_path}&page={i % pages + 1}', None),
            lambda i: client.tasks.list({**ids_query, 'page': i % pages + 1}, list_all=True),
        ),
        Workload('list id__in+expand', lambda i: ('GET', in_path(i), None), lambda i: client.list_tasks(in_query(i))),
        Workload(
            'file GET',
            lambda i: ('GET', files[i % len(files)].split('/', 3)[3], None),
            lambda i: client.data_files.download(files[i % len(files)]),
        ),
        Workload(
            'annotate PUT',
            put,
            lambda i: client.annotate_task_data(ids[i % len(ids)], {'i': i, 'boxes': [[1, 2, 3, 4]]}),
        ),
    ]


def measure(base: str, token: str, pid: int, n: int, work: Workload) -> dict[str, float]:
    out = {
        f'{work.name}, client sequential': rate(n, lambda: [work.client(i) for i in range(n)]),
        f'{work.name}, client 16 threads': rate(n, lambda: threaded(n, work.client)),
    }
    before = cpu_seconds(pid)
    out[f'{work.name}, aiohttp 16 (baseline)'] = asyncio.run(aiohttp_rate(base, token, n, work.wire))
    after = cpu_seconds(pid)
    if before is not None and after is not None:
        out[f'{work.name}, server ms CPU/req'] = (after - before) / n * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--tasks', type=int, default=1000)
    parser.add_argument('--requests', type=int, default=400)
    args = parser.parse_args()
    if args.tasks < 1 or args.requests < 1:
        parser.error('--tasks and --requests must be at least 1')
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = str(Path(tmp) / 'state')
        token = init_local(state_dir).token
        assert token is not None
        project = import_folder(
            make_folder(Path(tmp), args.tasks), 'bench', ['image=*.jpg', 'annotation_data=*.json'], state_dir=state_dir
        ).project_id
        port = free_port()
        server = start_server(state_dir, port)
        base = f'http://127.0.0.1:{port}/'
        results: dict[str, float] = {}
        try:
            with BackendClient(base, token) as client:
                tasks = client.list_tasks({'project': project, 'expand': 'data_unit', 'fields': 'id,data_unit'})
                ids = [t['id'] for t in tasks]
                files = [t['data_unit']['files']['annotation_data']['url'] for t in tasks]
                for work in workloads(client, project, ids, files):
                    results.update(measure(base, token, server.pid, n, work))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f'local backend ({args.tasks} tasks, {n} requests per figure, page_size={PAGE}, {os.cpu_count()} cores)')
    for name, value in results.items():
        unit = 'ms' if name.endswith('CPU/req') else 'req/s'
        print(f'  {name:<44} {value:8.2f} {unit}' if unit == 'ms' else f'  {name:<44} {value:8.0f} {unit}')
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


if __name__ == '__main__':
    main()
