"""``synapse plugin serve``: put a plugin's model server on Ray Serve, see it, take it down.

The plugin's deployment action (a ``BaseDeploymentAction``) runs as a Ray job on the cluster, exactly as
the agent runs it (``RayJobExecutor``: the plugin folder packaged as the job's working dir, its
requirements, credentials in the job's secrets package); then the Serve application is followed through
the dashboard's REST API until it is RUNNING or failed. With no ``ray_address`` a local head on
127.0.0.1 is used: the one recorded in ``<state dir>/ray/head.json`` while it runs, else a new one,
which keeps running after the command (``synapse plugin serve --shutdown`` stops it).
This wiring sits above the plugin core, the clients and the local backend.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import ExecutorError

__all__ = ['ServeOutcome', 'local_head', 'serve_delete', 'serve_plugin', 'serve_status', 'shutdown_local_head']

TERMINAL = ('RUNNING', 'DEPLOY_FAILED', 'UNHEALTHY')


@dataclass(frozen=True)
class ServeOutcome:
    """Where an application is and how it stands."""

    name: str
    status: str
    url: str | None
    message: str | None = None
    job_id: str | None = None


def _record_file() -> Path:
    state = os.environ.get('SYNAPSE_STATE_DIR') or str(Path.home() / '.synapse' / 'state')
    return Path(state) / 'ray' / 'head.json'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_head() -> dict[str, Any]:
    """``{dashboard_url, gcs_address, serve_port, pid}`` of the local head, started (detached) when none runs."""
    from synapse_sdk.clients.agent.ray_serve import RayDashboardClient
    from synapse_sdk.local.ray_head import free_port, start_head, worker_ports
    from synapse_sdk.plugins.executors.ray._auth import auth_headers

    record = _record_file()
    try:
        found = json.loads(record.read_text())
        if _alive(int(found['pid'])):
            with RayDashboardClient(found['dashboard_url'], auth_headers()) as dashboard:
                dashboard.serve_applications()
            return dict(found)
    except (OSError, ValueError, KeyError, TypeError, ExecutorError):
        pass
    except Exception:  # the recorded head does not answer: start another
        pass
    ports = worker_ports(30000 - 2000)
    head = start_head(ports=ports)
    found = {
        'dashboard_url': head.dashboard_url,
        'gcs_address': head.gcs_address,
        'serve_port': free_port(ports),
        'pid': head.process.pid,
        'temp_dir': str(head.temp_dir),
    }
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(found))
    return found


def shutdown_local_head() -> bool:
    """Stop the recorded local head (and its Serve apps); False when none was running."""
    record = _record_file()
    try:
        found = json.loads(record.read_text())
        pid = int(found['pid'])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    record.unlink(missing_ok=True)
    if not _alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def _dashboard(ray_address: str | None) -> tuple[str, int | None]:
    if ray_address:
        return ray_address, None
    head = local_head()
    return str(head['dashboard_url']), int(head['serve_port'])


def serve_plugin(
    path: str | os.PathLike[str],
    action: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    ray_address: str | None = None,
    serve_port: int | None = None,
    timeout: float = 300.0,
    on_status: Any = None,
) -> ServeOutcome:
    """Run the plugin's deployment action on the cluster and wait until its app is RUNNING (or failed)."""
    from synapse_sdk.plugins.actions.inference.deployment import SERVE_HOST_ENV, SERVE_PORT_ENV, BaseDeploymentAction
    from synapse_sdk.plugins.discovery import PluginDiscovery
    from synapse_sdk.plugins.executors.ray.job import RayJobExecutor

    folder = Path(path).resolve()
    discovery = PluginDiscovery.from_path(folder)
    key = action or _deployment_action(discovery, BaseDeploymentAction)
    dashboard_url, local_port = _dashboard(ray_address)
    port = serve_port or local_port or 8000
    code = discovery.config.code if discovery.config is not None else folder.name
    env = {SERVE_HOST_ENV: '127.0.0.1', SERVE_PORT_ENV: str(port)}
    executor = RayJobExecutor(dashboard_url, folder, runtime_env={'env_vars': env})
    job_id = executor.submit(key, params or {})
    outcome = _follow(dashboard_url, code, job_id, executor, timeout, on_status)
    url = None
    if outcome.status == 'RUNNING':  # where Serve really listens: an earlier start on the cluster decides it
        url = f'http://127.0.0.1:{_proxy_port(dashboard_url) or port}/{code}/'
    return ServeOutcome(code, outcome.status, url, outcome.message, job_id)


def _proxy_port(dashboard_url: str) -> int | None:
    from synapse_sdk.clients.agent.ray_serve import RayDashboardClient
    from synapse_sdk.plugins.executors.ray._auth import auth_headers

    with RayDashboardClient(dashboard_url, auth_headers()) as dashboard:
        return dashboard.serve_http_port()


def _deployment_action(discovery: Any, base: type) -> str:
    for name in discovery.list_actions():
        try:
            cls = discovery.get_action_class(name)
        except Exception:
            continue
        if isinstance(cls, type) and issubclass(cls, base):
            return str(name)
    raise ExecutorError(
        'The plugin has no deployment action: add one whose class subclasses BaseDeploymentAction '
        '(e.g. `deployment: {entrypoint: plugin.deploy.Deploy, method: job}`), or name it: synapse plugin serve ACTION'
    )


def _follow(dashboard_url: str, name: str, job_id: str, executor: Any, timeout: float, on_status: Any) -> ServeOutcome:
    from synapse_sdk.clients.agent.ray_serve import RayDashboardClient
    from synapse_sdk.plugins.executors.ray._auth import auth_headers

    deadline = time.monotonic() + timeout
    seen = None
    with RayDashboardClient(dashboard_url, auth_headers()) as dashboard:
        while True:
            app = dashboard.serve_applications().get(name)
            status = str(app.get('status')) if app else 'NOT_STARTED'
            message = (app or {}).get('message') or None
            if status != seen and on_status is not None:
                on_status(status)
            seen = status
            if status in TERMINAL:
                return ServeOutcome(name, status, None, message, job_id)
            if app is None and executor.get_status(job_id).is_terminal():
                logs = executor.get_logs(job_id).strip().splitlines()
                return ServeOutcome(
                    name, 'DEPLOY_FAILED', None, logs[-1] if logs else 'the deployment job ended', job_id
                )
            if time.monotonic() >= deadline:
                return ServeOutcome(name, status, None, f'not RUNNING after {timeout:.0f} s', job_id)
            time.sleep(0.5)


def serve_status(ray_address: str | None = None) -> list[ServeOutcome]:
    """Every Serve application of the cluster."""
    from synapse_sdk.clients.agent.ray_serve import RayDashboardClient
    from synapse_sdk.plugins.executors.ray._auth import auth_headers

    dashboard_url, _ = _dashboard(ray_address)
    with RayDashboardClient(dashboard_url, auth_headers()) as dashboard:
        apps = dashboard.serve_applications()
        port = dashboard.serve_http_port()
    out = []
    for name, app in sorted(apps.items()):
        prefix = str(app.get('route_prefix') or f'/{name}').rstrip('/')
        url = f'http://127.0.0.1:{port}{prefix}/' if port else prefix + '/'
        out.append(ServeOutcome(name, str(app.get('status')), url, app.get('message') or None))
    return out


def serve_delete(name: str, ray_address: str | None = None, timeout: float = 120.0) -> None:
    """Delete application ``name`` (a small Ray job calls ``serve.delete``); waits for it to end."""
    from synapse_sdk.plugins.executors.ray._ray import job_submission_client

    dashboard_url, _ = _dashboard(ray_address)
    jobs = job_submission_client(dashboard_url)
    script = f'import ray; from ray import serve; ray.init(); serve.delete({name!r})'
    job = jobs.submit_job(entrypoint=f'{sys.executable} -c "{script}"')
    deadline = time.monotonic() + timeout
    while str(jobs.get_job_status(job)) not in ('SUCCEEDED', 'FAILED', 'STOPPED'):
        if time.monotonic() > deadline:
            raise ExecutorError(f'Deleting {name} did not finish within {timeout:.0f} s (Ray job {job})')
        time.sleep(0.3)
    if str(jobs.get_job_status(job)) != 'SUCCEEDED':
        raise ExecutorError(f'Deleting {name} failed: {jobs.get_job_logs(job).strip().splitlines()[-1:]}')
