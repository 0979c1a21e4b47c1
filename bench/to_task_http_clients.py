"""Client CPU per task of HTTP stacks for ToTask's annotate step: GET a small JSON, PUT it back, 16 at a time.

Run: .venv/bin/python bench/to_task_http_clients.py [--tasks 2000] [--latency-ms 20] [--repeat 2]

The server is a cheap aiohttp app in its own process (GET answers after ``--latency-ms``, PUT echoes),
so the figure is the client's own cost. Each candidate runs in a fresh process; it reports wall time
and the CPU seconds of that process per task. Used to choose the transport of the bulk path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

SERVER = """
import asyncio, json, sys
from aiohttp import web
latency = float(sys.argv[2]) / 1000

async def get(request):
    await asyncio.sleep(latency)
    i = int(request.match_info['i'])
    return web.json_response({'annotations': {'image_1': [{'id': f'box-{i}', 'label': 'car', 'x': i}]}})

async def put(request):
    body = json.loads(await request.read())
    return web.json_response({'id': int(request.match_info['i']), 'data': body['data'], 'status': 'pending'})

app = web.Application()
app.router.add_get('/ann/{i}.json', get)
app.router.add_put('/tasks/{i}/annotate_task_data/', put)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""
WIDTH = 16
HEADERS = {'Synapse-Access-Token': 'Token bench-token-0123456789', 'Content-Type': 'application/json'}


def body(data: object) -> bytes:
    return json.dumps({'action': 'submit', 'data': data}).encode()


def threads(n: int, one: Callable[[int], None]) -> None:
    with ThreadPoolExecutor(WIDTH) as pool:
        list(pool.map(one, range(n)))


def backend_client(base: str, n: int) -> None:
    from synapse_sdk.clients import BackendClient

    client = BackendClient(base + '/', 'bench-token-0123456789')

    def one(i: int) -> None:
        client.annotate_task_data(i, client.download_json(f'{base}/ann/{i}.json'))

    threads(n, one)


def httpx_sync(base: str, n: int) -> None:
    import httpx

    client = httpx.Client(limits=httpx.Limits(max_connections=WIDTH, max_keepalive_connections=WIDTH))

    def one(i: int) -> None:
        data = client.get(f'{base}/ann/{i}.json').json()
        client.put(f'{base}/tasks/{i}/annotate_task_data/', content=body(data), headers=HEADERS).json()

    threads(n, one)


def httpcore_sync(base: str, n: int) -> None:
    import httpcore

    pool = httpcore.ConnectionPool(max_connections=WIDTH)

    def one(i: int) -> None:
        data = json.loads(pool.request('GET', f'{base}/ann/{i}.json').content)
        reply = pool.request('PUT', f'{base}/tasks/{i}/annotate_task_data/', content=body(data), headers=HEADERS)
        json.loads(reply.content)

    threads(n, one)


def urllib3_sync(base: str, n: int) -> None:
    import urllib3

    manager = urllib3.PoolManager(maxsize=WIDTH)

    def one(i: int) -> None:
        data = json.loads(manager.request('GET', f'{base}/ann/{i}.json').data)
        reply = manager.request('PUT', f'{base}/tasks/{i}/annotate_task_data/', body=body(data), headers=HEADERS)
        json.loads(reply.data)

    threads(n, one)


async def gather_bounded(n: int, one: Callable[[int], Awaitable[None]]) -> None:
    slots = asyncio.Semaphore(WIDTH)

    async def guarded(i: int) -> None:
        async with slots:
            await one(i)

    await asyncio.gather(*(guarded(i) for i in range(n)))


def httpx_async(base: str, n: int) -> None:
    import httpx

    async def main() -> None:
        limits = httpx.Limits(max_connections=WIDTH, max_keepalive_connections=WIDTH)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(i: int) -> None:
                data = (await client.get(f'{base}/ann/{i}.json')).json()
                url = f'{base}/tasks/{i}/annotate_task_data/'
                (await client.put(url, content=body(data), headers=HEADERS)).json()

            await gather_bounded(n, one)

    asyncio.run(main())


def httpcore_async(base: str, n: int) -> None:
    import httpcore

    async def main() -> None:
        async with httpcore.AsyncConnectionPool(max_connections=WIDTH) as pool:

            async def one(i: int) -> None:
                data = json.loads((await pool.request('GET', f'{base}/ann/{i}.json')).content)
                url = f'{base}/tasks/{i}/annotate_task_data/'
                json.loads((await pool.request('PUT', url, content=body(data), headers=HEADERS)).content)

            await gather_bounded(n, one)

    asyncio.run(main())


def _aiohttp(base: str, n: int, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    import aiohttp

    async def main() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WIDTH)) as session:

            async def one(i: int) -> None:
                async with session.get(f'{base}/ann/{i}.json') as reply:
                    data = json.loads(await reply.read())
                url = f'{base}/tasks/{i}/annotate_task_data/'
                async with session.put(url, data=body(data), headers=HEADERS) as reply:
                    json.loads(await reply.read())

            await gather_bounded(n, one)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def aiohttp_asyncio(base: str, n: int) -> None:
    _aiohttp(base, n, None)


def aiohttp_uvloop(base: str, n: int) -> None:
    import uvloop

    _aiohttp(base, n, uvloop.new_event_loop)


CANDIDATES: dict[str, Callable[[str, int], None]] = {
    'BackendClient, 16 threads': backend_client,
    'httpx sync, 16 threads': httpx_sync,
    'httpcore sync, 16 threads': httpcore_sync,
    'urllib3, 16 threads': urllib3_sync,
    'httpx AsyncClient': httpx_async,
    'httpcore async': httpcore_async,
    'aiohttp, asyncio loop': aiohttp_asyncio,
    'aiohttp, uvloop': aiohttp_uvloop,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def measure(name: str, base: str, n: int) -> None:
    """In a child process: run one candidate, print its figures as JSON."""
    started, cpu = time.perf_counter(), time.process_time()
    CANDIDATES[name](base, n)
    print(json.dumps({'seconds': time.perf_counter() - started, 'cpu': time.process_time() - cpu}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--tasks', type=int, default=2000)
    parser.add_argument('--latency-ms', type=float, default=20)
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument('--measure', help=argparse.SUPPRESS)
    parser.add_argument('--base', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.base, args.tasks)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, '-c', SERVER, str(port), str(args.latency_ms)])
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 20
        while not listening(port):
            if time.monotonic() > deadline:
                raise RuntimeError('the server did not start')
            time.sleep(0.05)
        load = os.getloadavg()[0]
        print(f'{args.tasks} x (GET + PUT), {WIDTH} at a time, GET latency {args.latency_ms:.0f} ms; load {load:.2f}')
        print(f'{"candidate":<28} {"tasks/s":>8} {"client CPU ms/task":>19}')
        for _ in range(args.repeat):
            for name in CANDIDATES:
                cmd = [sys.executable, __file__, '--measure', name, '--base', base, '--tasks', str(args.tasks)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                print(f'{name:<28} {args.tasks / row["seconds"]:>8.1f} {row["cpu"] / args.tasks * 1000:>19.3f}')
    finally:
        server.terminate()
        server.wait(10)


if __name__ == '__main__':
    main()
