"""ToTask's inference method through the face detector on the local agent's Ray Serve.

Run: .venv/bin/python bench/to_task_inference.py [--tasks 500] [--concurrency 16]

Everything on 127.0.0.1: `synapse local serve` in its own process (its agent starts Ray on first
need), this process as the client. Rows, all against the same backend and Ray:

- bare client: aiohttp POSTs of each task's request straight to the Serve app (the floor: the model
  server's own throughput, same concurrency, same payload as ToTask's);
- ToTask at concurrency 1, ToTask at the default width, ToTask with batching on (a second release of
  the same plugin whose ``serve_options.batch`` is set).

Per row: tasks/s, p50/p95 of one request (ToTask: from its setup hook to its convert hook, i.e. the
inference call the task makes), and CPU per task of this process and of the server with its Ray.
Also: deployment to RUNNING through the agent (dispatch → serve_applications RUNNING) against a bare
``serve.run`` of the same app on the same cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / 'examples' / 'face-detector-plugin'
SYNAPSE = Path(sys.executable).with_name('synapse')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return total


def server_family(root: int) -> list[int]:
    """The server process and every process started under it (Ray's daemons, workers and replicas)."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            groups[int(entry.name)] = int(fields[2])
    family = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if pid not in family and (parent in family or groups.get(pid) in family):
                family.add(pid)
                changed = True
    return sorted(family)


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.log = open(log, 'wb')
        self.process = subprocess.Popen(
            [str(SYNAPSE), 'local', 'serve', '--port', str(self.port)], env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f'{self.url}health/', timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError('the backend did not start')

    def cpu(self) -> float:
        return cpu_of(server_family(self.process.pid))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # the server stops its agent's Ray head
        self.process.wait(timeout=60)
        self.log.close()


def publish(client: Any, code: str, batch: dict[str, Any] | None) -> int:
    import shutil

    import yaml

    from synapse_sdk.plugins.publish import prepare_release

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / 'plugin'
        shutil.copytree(FACES, folder, ignore=shutil.ignore_patterns('__pycache__'))
        config = yaml.safe_load((folder / 'config.yaml').read_text())
        config['code'] = code
        options = config['actions']['deployment'].setdefault('serve_options', {})
        if batch is None:
            options.pop('batch', None)
        else:
            options['batch'] = batch
        (folder / 'config.yaml').write_text(yaml.safe_dump(config))
        release = prepare_release(folder)
        return int(client.plugin_releases.publish(code, release.version, release.config, release.archive)['id'])


def wait_running(client: Any, code: str, timeout: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        apps = client.list_serve_applications(params={'plugin_code': code})
        if apps and apps[0]['status'] == 'RUNNING':
            return time.monotonic() - started
        if apps and apps[0]['status'] in ('DEPLOY_FAILED', 'UNHEALTHY'):
            raise RuntimeError(f'{code}: {apps[0]["status"]}: {apps[0].get("message")}')
        time.sleep(0.1)
    raise RuntimeError(f'{code} not RUNNING after {timeout} s')


def make_project(client: Any, images: list[Path], count: int) -> tuple[int, list[dict[str, Any]]]:
    collection = client.data_collections.create('faces', [{'name': 'image', 'is_primary': True}])
    project = client.projects.create('faces-bench', data_collection=collection['id'])
    uploaded = [client.data_files.upload(p.read_bytes(), p.name) for p in images]
    requests = []
    for i in range(count):
        image = uploaded[i % len(uploaded)]
        unit = client.data_units.create(collection['id'], {'image': {'file': image['id'], 'is_primary': True}})
        client.tasks.create(project['id'], data_unit=unit['id'])
        requests.append({'primary_file_url': image['url'], 'primary_file_name': image['file_name_original']})
    return int(project['id']), requests


async def bare_client(url: str, bodies: list[dict[str, Any]], model: int, width: int) -> list[float]:
    import aiohttp

    latencies: list[float] = []
    slots = asyncio.Semaphore(width)
    headers = {'serve_multiplexed_model_id': str(model)}
    async with aiohttp.ClientSession() as session:

        async def one(body: dict[str, Any]) -> None:
            async with slots:
                started = time.perf_counter()
                async with session.post(url, json=body, headers=headers) as reply:
                    if reply.status >= 400:
                        raise RuntimeError(f'{reply.status}: {await reply.text()}')
                    await reply.read()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one(b) for b in bodies))
    return latencies


def timed_to_task(client: Any, project: int, release: int, model: int, concurrency: int) -> list[float]:
    from synapse_sdk.loggers import NoOpLogger
    from synapse_sdk.plugins.actions.to_task import ToTaskAction
    from synapse_sdk.plugins.executors import LocalExecutor

    started: dict[int, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    class Timed(ToTaskAction):
        def setup_inference_params(self, primary_file_url, primary_file_name, data_files, **kwargs):
            with lock:
                started[kwargs['task_data']['id']] = time.perf_counter()
            return super().setup_inference_params(primary_file_url, primary_file_name, data_files, **kwargs)

        def convert_data_from_inference(self, inference_data, task_data=None):
            with lock:
                latencies.append(time.perf_counter() - started[task_data['id']])
            return inference_data

    params = {
        'name': 'bench',
        'project': project,
        'agent': 1,
        'method': 'inference',
        'pre_processor': release,
        'model': model,
        'concurrency': concurrency,
        'resume': False,
        'pre_processor_poll_seconds': 0.2,
    }
    result = LocalExecutor(client=client, logger_factory=NoOpLogger).execute(Timed, params)
    assert result.failed_count == 0, result.failures[:3]
    return latencies


def bare_serve_run(head_gcs: str, code: str, backend: str, token: str, model: int, free: list[str]) -> float:
    """Seconds for ``serve.run`` of the same app (blocking until RUNNING) in a fresh driver on the same cluster.

    The apps in ``free`` are deleted first: the 2-CPU cluster holds two 1-CPU replicas, not three. The
    token goes through stdin, never a command line.
    """
    script = f"""
import sys, time
sys.path.insert(0, {str(FACES)!r})
token = sys.stdin.readline().strip()
import ray
from ray import serve
from plugin.serve import FaceDetector
from synapse_sdk.plugins.executors.ray._auth import init_ray
init_ray(ray, {head_gcs!r}, runtime_env={{'working_dir': {str(FACES)!r}}})  # with the cluster's token
for name in {free!r}:
    serve.delete(name)
started = time.perf_counter()
routed, ingress = FaceDetector.with_default_route()
app = serve.deployment(serve.ingress(ingress)(routed)).options(ray_actor_options={{'num_cpus': 1}})
bound = app.bind(backend_url={backend!r}, access_token=token, model_id={model})
serve.run(bound, name={code!r}, route_prefix='/{code}')
print(time.perf_counter() - started)
serve.delete({code!r})
"""
    env = {**os.environ, 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0'}  # else the driver dials the host's own IP
    out = subprocess.run(
        [sys.executable, '-c', script],
        env=env,
        input=token + '\n',
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--tasks', type=int, default=500)
    parser.add_argument('--concurrency', type=int, default=16)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the server and its Ray
    from synapse_sdk.clients import BackendClient

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith('SYNAPSE_')}
        env.update(
            SYNAPSE_LOCAL_DIR=f'{tmp}/local', SYNAPSE_STATE_DIR=f'{tmp}/state', RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0'
        )
        os.environ['SYNAPSE_STATE_DIR'] = f'{tmp}/client-state'
        subprocess.run([str(SYNAPSE), 'local', 'init'], env=env, check=True, capture_output=True)
        server = Server(env, Path(tempfile.gettempdir()) / 'to_task_inference-serve.log')
        try:
            token = Path(f'{tmp}/local/access_token').read_text().strip()
            client = BackendClient(server.url, token)
            samples = module('face_samples', FACES / 'samples.py').make_samples(Path(tmp) / 'images', count=50)
            project, bodies = make_project(client, [s.path for s in samples], args.tasks)
            faces = module('face_model', FACES / 'plugin' / 'faces.py')
            model_dir = faces.build_model_folder(Path(tmp) / 'model')
            plain = publish(client, 'faces-plain', None)
            batched = publish(client, 'faces-batched', {'max_batch_size': 8, 'batch_wait_timeout_s': 0.01})
            models = {r: int(client.create_model({'file': str(model_dir), 'name': f'm{r}', 'plugin_release': r})['id'])
                      for r in (plain, batched)}  # fmt: skip
            deploy = {'num_cpus': 1, 'num_gpus': 0}
            # the first deployment starts the agent's Ray: deploy once to warm it, time the second app
            client.run_plugin('faces-plain', {'agent': 1, 'action': 'deployment', 'params': deploy})
            wait_running(client, 'faces-plain')
            client.run_plugin('faces-batched', {'agent': 1, 'action': 'deployment', 'params': deploy})
            agent_deploy = wait_running(client, 'faces-batched')
            print(f'agent deployment to RUNNING: {agent_deploy:.2f}s', flush=True)
            rows = []
            idle_from, idle_started = server.cpu(), time.perf_counter()
            time.sleep(10)
            idle = (server.cpu() - idle_from) / (time.perf_counter() - idle_started)
            print(f'server+Ray CPU while idle: {idle:.3f} s/s', flush=True)

            def measure(label: str, run: Any) -> None:
                cpu_client, cpu_server, started = time.process_time(), server.cpu(), time.perf_counter()
                latencies = run()
                wall = time.perf_counter() - started
                client_cpu = (time.process_time() - cpu_client) / args.tasks * 1000
                server_cpu = (server.cpu() - cpu_server - idle * wall) / args.tasks * 1000  # less Ray's idle
                cuts = statistics.quantiles(latencies, n=20)
                rows.append((label, args.tasks / wall, wall, cuts[9] * 1000, cuts[18] * 1000, client_cpu, server_cpu))
                print(rows[-1], flush=True)

            app_url = client.list_serve_applications(params={'plugin_code': 'faces-plain'})[0]['meta']['url']
            measure(
                f'bare client, {args.concurrency} wide',
                lambda: asyncio.run(bare_client(app_url, bodies, models[plain], args.concurrency)),
            )
            measure('ToTask, concurrency 1', lambda: timed_to_task(client, project, plain, models[plain], 1))
            measure(
                f'ToTask, default ({args.concurrency})',
                lambda: timed_to_task(client, project, plain, models[plain], args.concurrency),
            )
            measure(
                f'ToTask, batching on ({args.concurrency})',
                lambda: timed_to_task(client, project, batched, models[batched], args.concurrency),
            )
            gcs = _gcs_address(server)
            free = ['faces-batched']
            bare_deploy = (
                bare_serve_run(gcs, 'faces-bare', server.url, token, models[plain], free) if gcs else float('nan')
            )
            print(f'bare serve.run to RUNNING: {bare_deploy:.2f}s', flush=True)
            client.close()
        finally:
            server.stop()
    print(f'to_task inference method, {args.tasks} tasks, face detector on the local agent (Ray Serve, 127.0.0.1)')
    print(
        f'{"run":<30} {"tasks/s":>8} {"seconds":>8} {"p50 ms":>8} {"p95 ms":>8} {"client CPU":>11} {"server+Ray":>11}'
    )
    for label, rate, wall, p50, p95, ccpu, scpu in rows:
        print(f'{label:<30} {rate:>8.1f} {wall:>8.2f} {p50:>8.1f} {p95:>8.1f} {ccpu:>9.2f}ms {scpu:>9.2f}ms')
    bare, default = rows[0][2], rows[2][2]
    print(f'ToTask default / bare client wall time: {default / bare:.2f}x (target <= 1.2x)')
    print(f'batching: {rows[2][1]:.1f} -> {rows[3][1]:.1f} tasks/s ({rows[3][1] / rows[2][1]:.2f}x)')
    print(
        f'deployment to RUNNING: through the agent {agent_deploy:.2f}s, bare serve.run {bare_deploy:.2f}s '
        f'({agent_deploy / bare_deploy:.2f}x, target <= 1.2x)'
    )


def _gcs_address(server: Server) -> str | None:
    for pid in server_family(server.process.pid):
        try:
            cmd = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
        except OSError:
            continue
        if b'start' in cmd and b'--head' in cmd:
            port = next((c.split(b'=')[1] for c in cmd if c.startswith(b'--port=')), None)
            if port:
                return f'127.0.0.1:{port.decode()}'
    return None


if __name__ == '__main__':
    main()
