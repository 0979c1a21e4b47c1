"""ToTask (file method) throughput: sequential (concurrency=1, the reference SDK's behaviour) vs the default.

Run: .venv/bin/python bench/to_task_file.py [--tasks 2000] [--latency-ms 20] [--client-path]

Everything runs on 127.0.0.1: the local backend (uvicorn, own process), a file server that answers
each annotation JSON after ``--latency-ms`` (own process, like object storage), and each to_task run
in its own process, which reports its wall time, CPU time and peak RSS. Prints tasks/s for both, the
ratio (the headline), and per task the CPU milliseconds of the client process, of the backend and of
the file server (the three share the machine's cores, so a CPU-bound run is limited by their sum).
``--client-path`` adds a third run at the default width with ``SYNAPSE_TO_TASK_HTTP=client`` (every
call through the client's own threaded httpx path instead of the aiohttp pipeline), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SERVE_BACKEND = """
import sys, uvicorn
from synapse_sdk.local.app import create_app
uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning', lifespan='off')
"""

SERVE_FILES = """
import asyncio, json, sys
from aiohttp import web
latency = float(sys.argv[2]) / 1000

async def handle(request):
    await asyncio.sleep(latency)
    i = int(request.match_info['i'])
    return web.json_response({'annotations': {'image_1': [{'id': f'box-{i}', 'label': 'car', 'x': i}]}})

app = web.Application()
app.router.add_get('/ann/{i}.json', handle)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""

RUN_TO_TASK = """
import json, resource, sys, time
from synapse_sdk.clients import BackendClient
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.executors import LocalExecutor
base_url, token, project, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = BackendClient(base_url, token)
params = {'name': 'bench', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data',
          'concurrency': concurrency, 'resume': False}
started, cpu = time.perf_counter(), time.process_time()
result = LocalExecutor(client=client, logger_factory=NoOpLogger).execute(ToTaskAction, params)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
try:  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's peak across exec on Linux)
    status = open('/proc/self/status').read()
    rss_mib = int(status.split('VmHWM:')[1].split()[0]) / 1024
except (OSError, IndexError, ValueError):
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'seconds': elapsed, 'cpu': cpu, 'success': result.success_count, 'failed': result.failed_count,
                  'rss_mib': rss_mib}))
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 20) -> None:
    """Block until something listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f'nothing listens on 127.0.0.1:{port}')


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the servers and wait for each."""
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def populate(base_url: str, token: str, files_url: str, count: int) -> int:
    """A project with ``count`` tasks whose annotation files live on the slow file server."""
    from synapse_sdk.clients import BackendClient

    client = BackendClient(base_url, token)
    collection = client.data_collections.create(
        'bench', [{'name': 'image', 'is_primary': True}, {'name': 'annotation_data'}]
    )
    project = client.projects.create('bench', data_collection=collection['id'])
    image = client.data_files.upload(b'\xff\xd8bench', 'image.jpg')

    def one(i: int) -> None:
        ann = client.data_files.register_external(f'{files_url}/ann/{i}.json', f'{i}.json')
        files = {'image': {'file': image['id'], 'is_primary': True}, 'annotation_data': {'file': ann['id']}}
        unit = client.data_units.create(collection['id'], files, key=str(i))
        client.tasks.create(project['id'], data_unit=unit['id'])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))
    client.close()
    return project['id']


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def run(
    base_url: str, token: str, project: int, concurrency: int, servers: list[int], env: dict[str, str] | None = None
) -> dict[str, float]:
    """One to_task run in a fresh process; adds the CPU seconds the servers spent meanwhile."""
    before = [cpu_seconds(pid) for pid in servers]
    out = subprocess.run(
        [sys.executable, '-c', RUN_TO_TASK, base_url, token, str(project), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    after = [cpu_seconds(pid) for pid in servers]
    for name, start, end in zip(('backend_cpu', 'files_cpu'), before, after, strict=True):
        row[name] = end - start if start is not None and end is not None else float('nan')
    return row


def main() -> None:
    """Set up, run both configurations, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--tasks', type=int, default=2000)
    parser.add_argument('--latency-ms', type=float, default=20)
    parser.add_argument('--concurrency', type=int, default=16, help='the default run (ToTaskParams default: 16)')
    parser.add_argument('--client-path', action='store_true', help='also run the default width over the httpx path')
    args = parser.parse_args()
    env = {**os.environ, 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0'}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / 'local'
        from synapse_sdk.local.setup import init_local

        token = init_local(state).token
        backend_port, files_port = free_port(), free_port()
        procs = [
            subprocess.Popen([sys.executable, '-c', SERVE_BACKEND, str(state), str(backend_port)], env=env),
            subprocess.Popen([sys.executable, '-c', SERVE_FILES, str(files_port), str(args.latency_ms)], env=env),
        ]
        servers = [proc.pid for proc in procs]
        try:
            wait_for(backend_port)
            wait_for(files_port)
            base_url, files_url = f'http://127.0.0.1:{backend_port}/', f'http://127.0.0.1:{files_port}'
            project = populate(base_url, token, files_url, args.tasks)
            os.environ['SYNAPSE_STATE_DIR'] = str(Path(tmp) / 'ledgers')
            rows = [
                ('concurrency=1 (reference baseline)', run(base_url, token, project, 1, servers)),
                (f'concurrency={args.concurrency} (default)', run(base_url, token, project, args.concurrency, servers)),
            ]
            if args.client_path:
                client_env = {'SYNAPSE_TO_TASK_HTTP': 'client'}
                row = run(base_url, token, project, args.concurrency, servers, client_env)
                rows.append((f'concurrency={args.concurrency}, httpx path', row))
        finally:
            stop(procs)
    load_after = os.getloadavg()
    print(f'to_task file method, {args.tasks} tasks, JSON files served with {args.latency_ms:.0f} ms latency each')
    print(
        f'{"run":<36} {"tasks/s":>8} {"seconds":>8} {"client CPU ms/task":>19} {"backend":>8} {"files":>6} '
        f'{"peak RSS MiB":>13} {"ok/failed":>10}'
    )
    for label, row in rows:
        per_task = {key: row[key] / args.tasks * 1000 for key in ('cpu', 'backend_cpu', 'files_cpu')}
        print(
            f'{label:<36} {args.tasks / row["seconds"]:>8.1f} {row["seconds"]:>8.2f} {per_task["cpu"]:>19.2f} '
            f'{per_task["backend_cpu"]:>8.2f} {per_task["files_cpu"]:>6.2f} {row["rss_mib"]:>13.1f} '
            f'{int(row["success"]):>5}/{int(row["failed"])}'
        )
    sequential, default = rows[0][1], rows[1][1]
    print(
        f'speed-up: {sequential["seconds"] / default["seconds"]:.1f}x (target >= 10x); '
        f'peak RSS {max(row["rss_mib"] for _, row in rows):.0f} MiB (target < 300 MiB); '
        f'load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)'
    )


if __name__ == '__main__':
    main()
