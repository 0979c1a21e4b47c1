"""Requests/s of the local backend for task listing and annotate PUTs, over real HTTP on 127.0.0.1.

Our sync BackendClient (sequential, and 16 threads) is compared, in the same run, with raw aiohttp
at the same concurrency (the baseline: the server's capacity without our client's overhead).

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

import aiohttp

from synapse_sdk.clients import BackendClient
from synapse_sdk.local.setup import init_local

CONCURRENCY = 16


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


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def threaded(n: int, one: Callable[[int], object]) -> None:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(n)))


async def aiohttp_rate(base: str, token: str, n: int, make: Callable[[int], tuple[str, str, dict | None]]) -> float:
    headers = {'Synapse-Access-Token': f'Token {token}'}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            method, path, body = make(i)
            async with sem, session.request(method, base + path, json=body) as response:
                assert response.status == 200, response.status
                await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--tasks', type=int, default=1000)
    parser.add_argument('--requests', type=int, default=400)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as state_dir:
        token = init_local(state_dir).token
        assert token is not None
        port = free_port()
        server = start_server(state_dir, port)
        base = f'http://127.0.0.1:{port}/'
        try:
            with BackendClient(base, token) as client:
                project = client.projects.create('bench')['id']
                threaded(args.tasks, lambda i: client.tasks.create(project, data={'i': i}))
                ids = [t['id'] for t in client.list_tasks({'project': project, 'fields': 'id'})]
                query = {'project': project, 'fields': 'id', 'page_size': 100}
                list_path = f'sdk/tasks/?project={project}&fields=id&page_size=100'

                def list_one(i: int) -> object:
                    return client.tasks.list({**query, 'page': i % (len(ids) // 100) + 1}, list_all=True)

                def put_one(i: int) -> object:
                    return client.annotate_task_data(ids[i % len(ids)], {'i': i, 'boxes': [[1, 2, 3, 4]]})

                results = {
                    'list, client sequential': rate(n, lambda: [list_one(i) for i in range(n)]),
                    'list, client 16 threads': rate(n, lambda: threaded(n, list_one)),
                    'list, aiohttp 16 (baseline)': asyncio.run(
                        aiohttp_rate(base, token, n, lambda i: ('GET', f'{list_path}&page={i % 10 + 1}', None))
                    ),
                    'annotate PUT, client sequential': rate(n, lambda: [put_one(i) for i in range(n)]),
                    'annotate PUT, client 16 threads': rate(n, lambda: threaded(n, put_one)),
                    'annotate PUT, aiohttp 16 (baseline)': asyncio.run(
                        aiohttp_rate(
                            base,
                            token,
                            n,
                            lambda i: (
                                'PUT',
                                f'tasks/{ids[i % len(ids)]}/annotate_task_data/',
                                {'action': 'submit', 'data': {'i': -i}},
                            ),
                        )
                    ),
                }
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f'local backend throughput ({args.tasks} tasks, {n} requests each, page_size=100, {os.cpu_count()} cores)')
    for name, value in results.items():
        print(f'  {name:<38} {value:8.0f} req/s')
    print(json.dumps({k: round(v) for k, v in results.items()}))


if __name__ == '__main__':
    main()
