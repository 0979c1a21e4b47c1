"""Deployment to RUNNING: through the local agent vs a bare ``serve.run`` of the same app, with a breakdown.

Run: .venv/bin/python bench/serve_deploy.py [--rounds 3]

Everything on 127.0.0.1: `synapse local serve` in its own process (its agent starts Ray on first need),
the face detector published twice (``faces-warm`` deployed first to start Ray and Serve, then
``faces-timed`` deployed ``--rounds`` times, each a redeploy after a delete). Per agent round:

- dispatch: ``POST plugins/{code}/run/`` to the Ray job's start (the agent fetching the release and
  submitting the job, the runtime env upload on the first round);
- driver: the job's start to the app's ``last_deployed_time_s`` (a fresh driver process importing
  the plugin, connecting to Ray and calling ``serve.run_many``);
- replica: from there to the row reading RUNNING (the replica's start and health check, then the
  agent's status poll).

The baselines, on the same cluster with the same app: ``serve.run`` inside an already connected
driver (the floor), and a fresh ``python`` process that connects and calls ``serve.run`` (what a user
of bare Ray Serve runs: ``python deploy.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from to_task_inference import FACES, SYNAPSE, Server, _gcs_address, publish, wait_running

BARE = """
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {faces!r})
token = sys.stdin.readline().strip()
import ray
from ray import serve
from plugin.serve import FaceDetector
from synapse_sdk.plugins.executors.ray._auth import init_ray
init_ray(ray, {gcs!r}, runtime_env={{'working_dir': {faces!r}}})
for round in range({rounds}):
    started = time.perf_counter()
    routed, ingress = FaceDetector.with_default_route()
    app = serve.deployment(serve.ingress(ingress)(routed)).options(ray_actor_options={{'num_cpus': 1}})
    bound = app.bind(backend_url={backend!r}, access_token=token, model_id={model})
    serve.run(bound, name='faces-bare', route_prefix='/faces-bare')
    now = time.perf_counter()
    print('connected', now - started, flush=True)
    if round == 0:
        print('fresh', now - t0, flush=True)
    serve.delete('faces-bare')
"""


def bare(gcs: str, backend: str, token: str, model: int, rounds: int) -> tuple[list[float], float]:
    script = BARE.format(faces=str(FACES), gcs=gcs, backend=backend, model=model, rounds=rounds)
    env = {**os.environ, 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0'}
    out = subprocess.run(
        [sys.executable, '-c', script], env=env, input=token + '\n', capture_output=True, text=True, timeout=600
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    lines = [line.split() for line in out.stdout.splitlines() if line.split()[:1] in (['connected'], ['fresh'])]
    return [float(v) for k, v in lines if k == 'connected'], next(float(v) for k, v in lines if k == 'fresh')


def agent_round(client: Any, jobs: Any, dashboard: Any, code: str) -> tuple[float, float, float]:
    started_wall, started = time.time(), time.monotonic()
    answer = client.run_plugin(code, {'agent': 1, 'action': 'deployment', 'params': {'num_cpus': 1, 'num_gpus': 0}})
    total = wait_running(client, code)
    job = client.get_job(int(answer['job_id']))
    ray_job = (job.get('meta') or {}).get('ray_job')
    info = jobs.get_job_info(ray_job) if ray_job else None
    job_start = (info.start_time / 1000) if info is not None and info.start_time else started_wall
    app = dashboard.serve_applications().get(code) or {}
    deployed = float(app.get('last_deployed_time_s') or job_start)
    del started
    return job_start - started_wall, deployed - job_start, total - (deployed - started_wall)


def empty_job(jobs: Any) -> float:
    """Seconds from submitting a Ray job that does nothing (``python -c pass``) to its SUCCEEDED: the job floor."""
    started = time.monotonic()
    job = jobs.submit_job(entrypoint=f'{sys.executable} -c pass')
    while str(jobs.get_job_info(job).status) not in ('SUCCEEDED', 'FAILED', 'STOPPED'):
        time.sleep(0.05)
    return time.monotonic() - started


def delete_app(code: str, dashboard: Any) -> None:
    from ray import serve

    serve.delete(code)
    deadline = time.monotonic() + 60
    while code in dashboard.serve_applications() and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ['RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'] = '0'  # else this driver dials the host's own IP
    from synapse_sdk.clients import BackendClient
    from synapse_sdk.clients.agent.ray_serve import RayDashboardClient
    from synapse_sdk.plugins.executors.ray._auth import auth_headers
    from synapse_sdk.plugins.executors.ray._ray import job_submission_client

    face_model = __import__('to_task_inference').module('face_model', FACES / 'plugin' / 'faces.py')
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith('SYNAPSE_')}
        env.update(SYNAPSE_LOCAL_DIR=f'{tmp}/local', SYNAPSE_STATE_DIR=f'{tmp}/state')
        env['RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'] = '0'
        os.environ['SYNAPSE_STATE_DIR'] = f'{tmp}/client-state'
        subprocess.run([str(SYNAPSE), 'local', 'init'], env=env, check=True, capture_output=True)
        server = Server(env, Path(tempfile.gettempdir()) / 'serve_deploy-serve.log')
        try:
            token = Path(f'{tmp}/local/access_token').read_text().strip()
            client = BackendClient(server.url, token)
            releases = {code: publish(client, code, None) for code in ('faces-warm', 'faces-timed')}
            model_dir = face_model.build_model_folder(Path(tmp) / 'model')
            model = int(
                client.create_model({'file': str(model_dir), 'name': 'm', 'plugin_release': releases['faces-timed']})[
                    'id'
                ]
            )
            client.run_plugin(
                'faces-warm', {'agent': 1, 'action': 'deployment', 'params': {'num_cpus': 1, 'num_gpus': 0}}
            )
            wait_running(client, 'faces-warm')
            gcs = _gcs_address(server)
            assert gcs is not None
            import ray

            from synapse_sdk.plugins.executors.ray._auth import init_ray

            init_ray(ray, gcs)  # this process deletes the timed app between rounds
            dash_url = next(r for r in [server_dashboard(server)] if r)
            dashboard = RayDashboardClient(dash_url, auth_headers())
            jobs = job_submission_client(dash_url)
            rounds = []
            for _ in range(args.rounds):
                rounds.append(agent_round(client, jobs, dashboard, 'faces-timed'))
                dispatch, driver, replica = rounds[-1]
                print(f'agent round: dispatch {dispatch:.2f}s, driver {driver:.2f}s, replica+poll {replica:.2f}s')
                delete_app('faces-timed', dashboard)
            floors = [empty_job(jobs) for _ in range(3)]
            print(f'empty Ray job, submit to SUCCEEDED: {floors}', flush=True)
            connected, fresh = bare(gcs, server.url, token, model, args.rounds)
            print(f'bare serve.run, connected driver: {connected}; fresh process (first round): {fresh:.2f}s')
            dashboard.close()
            client.close()
            ray.shutdown()
        finally:
            server.stop()
    totals = [sum(r) for r in rounds]
    agent, floor = statistics.median(totals), statistics.median(connected)
    print(f'deployment to RUNNING, median of {args.rounds} rounds (face detector, local Ray Serve, 127.0.0.1)')
    parts = [statistics.median(r[k] for r in rounds) for k in range(3)]
    print(
        f'  through the agent: {agent:.2f}s  (dispatch {parts[0]:.2f}s, driver {parts[1]:.2f}s, '
        f'replica+poll {parts[2]:.2f}s)'
    )
    print(f'  bare serve.run in a connected driver: {floor:.2f}s  -> agent / bare = {agent / floor:.2f}x')
    print(f'  bare serve.run from a fresh process: {fresh:.2f}s  -> agent / bare = {agent / fresh:.2f}x')
    print(f'  an empty Ray job (python -c pass), submit to SUCCEEDED: {statistics.median(floors):.2f}s')


def server_dashboard(server: Server) -> str | None:
    from to_task_inference import server_family

    for pid in server_family(server.process.pid):
        try:
            cmd = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
        except OSError:
            continue
        if b'--head' in cmd:
            port = next((c.split(b'=')[1] for c in cmd if c.startswith(b'--dashboard-port=')), None)
            if port:
                return f'http://127.0.0.1:{port.decode()}'
    return None


if __name__ == '__main__':
    main()
