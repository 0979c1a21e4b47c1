"""The local agent's runner: real Ray (and Ray Serve) on 127.0.0.1, started on first need.

Attached to a backend served over HTTP (``synapse local serve``), it runs what ``plugins/{code}/run/``
hands over:

- ``deployment``: the ``serve_applications/`` row of the plugin is created or reset to NOT_STARTED at
  once (the answer is ``{"job_id"}``); then, off the request, the head is started if needed, the
  request is checked against the cluster's real totals (a replica no node can hold is DEPLOY_FAILED at
  once, quoting what was asked and what there is), and the release's deployment action is submitted as
  a Ray job (``RayJobExecutor``, the release's archive as its working dir) that starts the Serve app;
- ``inference``: the run's ``params.json`` POSTed to the RUNNING app's route through Serve's HTTP proxy,
  with ``params.model`` as the multiplexed model id; the app's JSON answer is returned as it is;
- any other action: a Ray job.

A watcher thread follows each row: the status is Ray Serve's own (its REST API), DEPLOY_FAILED when the
deployment job failed before the app existed (with the job's error), when a replica stays unscheduled
(Ray's own "Resources required for each replica ..." message), and UNAVAILABLE when the head is gone.
The head is stopped with the backend (:meth:`ServeAgent.close`).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from sqlalchemy import select

from synapse_sdk.enums import ServeAppStatus
from synapse_sdk.exceptions import ClientError
from synapse_sdk.local.models import Job, ServeApplication, utcnow
from synapse_sdk.local.ray_head import LocalRayHead, free_port, start_head, worker_ports
from synapse_sdk.local.serve_status import app_message, infeasible_reason, job_error, status_of
from synapse_sdk.local.state import AppState, RunRequest
from synapse_sdk.utils.redact import redact

__all__ = ['ServeAgent', 'attach_serve_agent', 'infeasible_reason']  # infeasible_reason: from .serve_status

logger = logging.getLogger('synapse_sdk.local')

UNSCHEDULED_MARK = 'to be scheduled'  #: in Ray's message for replicas that no node could take
WATCH_SECONDS = 0.5
RUNNING_CACHE_SECONDS = 1.0


@dataclass
class _Watched:
    app_id: int
    name: str
    job_id: int | None
    ray_job: str | None = None
    started: float = field(default_factory=time.monotonic)
    seen: bool = False  #: Serve has listed the app since this deployment was dispatched


class ServeAgent:
    """Ray and Serve for one backend; ``backend_url`` and ``token`` are what its jobs use to reach it."""

    def __init__(self, state: AppState, backend_url: str, token: str, *, num_cpus: int | None = None) -> None:
        self.state = state
        self.backend_url = backend_url.rstrip('/') + '/'
        self._token = token
        self.num_cpus = num_cpus
        self._head: LocalRayHead | None = None
        self._serve_port: int | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix='synapse-agent')
        self._stop = threading.Event()
        self._watched: dict[int, _Watched] = {}
        self._watcher: threading.Thread | None = None
        self._running: dict[str, tuple[float, str]] = {}  #: plugin code -> (when read, route prefix)
        self._dashboard: Any = None
        self._proxy: Any = None
        self._jobs: Any = None  #: the head's ``JobSubmissionClient``

    # ------------------------------------------------------------------ lifecycle
    @property
    def head(self) -> LocalRayHead | None:
        return self._head

    def ensure_ray(self) -> LocalRayHead:
        """The head, started on first need."""
        with self._lock:
            if self._head is None or not self._head.alive():
                from synapse_sdk.clients.agent.ray_serve import RayDashboardClient, ServeAppClient
                from synapse_sdk.plugins.executors.ray._auth import auth_headers
                from synapse_sdk.plugins.executors.ray._ray import job_submission_client

                self._close_clients()
                ports = worker_ports(20000)
                self._head = start_head(self.num_cpus, ports=ports)
                self._serve_port = free_port(ports)
                self._dashboard = RayDashboardClient(self._head.dashboard_url, auth_headers())
                self._jobs = job_submission_client(self._head.dashboard_url)
                self._proxy = ServeAppClient(f'http://127.0.0.1:{self._serve_port}/')
                self._await_nodes()
                logger.warning(
                    'The local agent started Ray on 127.0.0.1 (dashboard %s, Serve on port %d)',
                    self._head.dashboard_url,
                    self._serve_port,
                )
            return self._head

    def _await_nodes(self, timeout: float = 30.0) -> None:
        """Wait until the dashboard lists the head node (its totals are what requests are checked against)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._dashboard is not None and self._dashboard.node_totals():
                    return
            except ClientError:
                pass
            time.sleep(0.2)

    def node_totals(self) -> list[dict[str, float]] | None:
        """Each node's totals when Ray runs, else None."""
        if self._head is None or not self._head.alive() or self._dashboard is None:
            return None
        return list(self._dashboard.node_totals())

    def close(self) -> None:
        """Stop watching, then stop the head (and with it every Serve app and job of this agent)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            self._close_clients()
            if self._head is not None:
                self._head.stop()
                self._head = None

    def _close_clients(self) -> None:
        for client in (self._dashboard, self._proxy):
            if client is not None:
                client.close()
        self._dashboard = self._proxy = self._jobs = None

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, request: RunRequest) -> Any:
        """What ``plugins/{code}/run/`` answers for ``request``."""
        if request.action == 'inference':
            return self.infer(request)
        if request.action == 'deployment':
            watched = self._register(request)
            self._pool.submit(self._deploy, request, watched)
            self._ensure_watcher()
        else:
            self._pool.submit(self._run_job, request)
        return {'job_id': request.job_id}

    def _register(self, request: RunRequest) -> _Watched:
        """The plugin's serve application row on this agent, created or reset to NOT_STARTED (a redeploy reuses it)."""
        with self.state.db.write() as session:
            row = session.scalar(
                select(ServeApplication)
                .where(ServeApplication.plugin_code == request.code, ServeApplication.agent_id == request.agent)
                .order_by(ServeApplication.id.desc())
                .limit(1)
            )
            meta = {'route_prefix': f'/{request.code}', 'message': None}
            if row is None:
                row = ServeApplication(name=request.code, plugin_code=request.code, agent_id=request.agent)
                session.add(row)
            row.status = ServeAppStatus.NOT_STARTED.value
            row.version = request.version
            row.job_id = request.job_id
            row.meta = {**(row.meta or {}), **meta}
            session.flush()
            watched = _Watched(row.id, row.name, request.job_id)
        self._running.pop(request.code, None)
        self._watched[watched.app_id] = watched
        return watched

    def _deploy(self, request: RunRequest, watched: _Watched) -> None:
        try:
            head = self.ensure_ray()
            reason = infeasible_reason(request.params, self.node_totals() or [])
            if reason is not None:
                self._settle(watched, ServeAppStatus.DEPLOY_FAILED, reason)
                return
            watched.ray_job = self._submit(request, head)
            self._set_job(request.job_id, 'RUNNING', {'ray_job': watched.ray_job})
        except Exception as exc:  # reported on the row: the wait of whoever dispatched ends with it
            logger.warning('Deployment of %s could not start: %s', request.code, exc)
            self._settle(watched, ServeAppStatus.DEPLOY_FAILED, f'The deployment could not start: {redact(str(exc))}')

    def _run_job(self, request: RunRequest) -> None:
        try:
            ray_job = self._submit(request, self.ensure_ray())
            self._set_job(request.job_id, 'RUNNING', {'ray_job': ray_job})
        except Exception as exc:
            self._set_job(request.job_id, 'FAILED', {'error': redact(str(exc))})

    def _submit(self, request: RunRequest, head: LocalRayHead) -> str:
        from synapse_sdk.clients.backend.client import BackendClient
        from synapse_sdk.plugins._remote import fetch_published
        from synapse_sdk.plugins.actions.inference.deployment import SERVE_HOST_ENV, SERVE_PORT_ENV
        from synapse_sdk.plugins.executors.ray.job import RayJobExecutor

        with BackendClient(self.backend_url, self._token) as client:
            folder = fetch_published(f'{request.code}@{request.version}', client)
        if folder is None:
            raise ClientError(404, f'Release {request.code}@{request.version} has no archive to run')
        worker_env = {
            'SYNAPSE_HOST': self.backend_url,
            'SYNAPSE_ACCESS_TOKEN': self._token,
            SERVE_HOST_ENV: '127.0.0.1',
            SERVE_PORT_ENV: str(self._serve_port),
        }
        executor = RayJobExecutor(
            head.dashboard_url, folder, worker_env=worker_env, language=request.language, jobs_client=self._jobs
        )
        return executor.submit(request.action, request.params, job_id=request.job_id)

    # ------------------------------------------------------------------ inference
    def infer(self, request: RunRequest) -> Any:
        """The RUNNING app's answer to ``params.json`` (``params.model``: the multiplexed model id)."""
        route = self._route(request.code, request.agent)
        params = request.params
        path = str(params.get('path') or '').lstrip('/')
        model = params.get('model')
        proxy = self._proxy
        if proxy is None:
            raise HTTPException(409, f"Pre-processor '{request.code}' is not running on this agent; deploy it first")
        try:
            return proxy.post(
                f'{route}/{path}', params.get('json') or {}, model_id=None if model is None else str(model)
            )
        except ClientError as exc:
            status = exc.status_code if exc.status_code >= 400 else 502
            raise HTTPException(status, f"Pre-processor '{request.code}' failed: {app_message(exc)}") from None

    def _route(self, code: str, agent: int) -> str:
        cached = self._running.get(code)
        if cached is not None and time.monotonic() - cached[0] < RUNNING_CACHE_SECONDS:
            return cached[1]
        with self.state.db.read() as session:
            row = session.scalar(
                select(ServeApplication).where(
                    ServeApplication.plugin_code == code,
                    ServeApplication.agent_id == agent,
                    ServeApplication.status == ServeAppStatus.RUNNING.value,
                )
            )
            if row is None:
                raise HTTPException(409, f"Pre-processor '{code}' is not running on this agent; deploy it first")
            route = str((row.meta or {}).get('route_prefix') or f'/{row.name}').rstrip('/')
        self._running[code] = (time.monotonic(), route)
        return route

    # ------------------------------------------------------------------ watching
    def _ensure_watcher(self) -> None:
        with self._lock:
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name='synapse-serve-watch', daemon=True)
                self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            if not self._watched:
                continue
            try:
                self._poll()
            except Exception as exc:  # the next poll tries again
                logger.debug('Serve status poll failed: %s', exc)

    def _poll(self) -> None:
        head, dashboard = self._head, self._dashboard
        if head is not None and not head.alive():
            for watched in list(self._watched.values()):
                self._settle(watched, ServeAppStatus.UNAVAILABLE, 'The local Ray head is gone')
            return
        if dashboard is None:
            return
        apps = dashboard.serve_applications()
        for watched in list(self._watched.values()):
            app = apps.get(watched.name)
            if app is None:
                if watched.seen:  # deleted on Ray (``serve.delete``, ``synapse plugin serve --delete``)
                    self._update(watched, ServeAppStatus.NOT_STARTED, 'The Serve application was deleted')
                    self._watched.pop(watched.app_id, None)
                else:
                    self._before_app(watched)
                continue
            watched.seen = True
            status, message = status_of(app)
            if status is ServeAppStatus.DEPLOYING and UNSCHEDULED_MARK in (message or ''):
                status = ServeAppStatus.DEPLOY_FAILED
            self._update(watched, status, message)

    def _before_app(self, watched: _Watched) -> None:
        """No Serve app yet: a deployment job that ended without one failed."""
        jobs = self._jobs
        if watched.ray_job is None or jobs is None:
            return
        info = jobs.get_job_info(watched.ray_job)
        status = str(getattr(info, 'status', ''))
        if status in ('FAILED', 'STOPPED'):
            error = job_error(jobs.get_job_logs(watched.ray_job)) or str(getattr(info, 'message', '') or status)
            self._settle(watched, ServeAppStatus.DEPLOY_FAILED, f'The deployment job failed: {redact(error)}')
        elif status == 'SUCCEEDED' and time.monotonic() - watched.started > 60:
            self._settle(watched, ServeAppStatus.DEPLOY_FAILED, 'The deployment job ended without starting an app')

    def _update(self, watched: _Watched, status: ServeAppStatus, message: str | None) -> None:
        with self.state.db.write() as session:
            row = session.get(ServeApplication, watched.app_id)
            if row is None:
                self._watched.pop(watched.app_id, None)
                return
            meta = dict(row.meta or {})
            if row.status != status.value or meta.get('message') != message:
                row.status = status.value
                meta.update(message=message, status_at=utcnow().isoformat())
                if status is ServeAppStatus.RUNNING and self._serve_port is not None:
                    prefix = str(meta.get('route_prefix') or f'/{row.name}').rstrip('/')
                    meta['url'] = f'http://127.0.0.1:{self._serve_port}{prefix}/'
                row.meta = meta
        if status is ServeAppStatus.DEPLOY_FAILED:
            self._watched.pop(watched.app_id, None)
            self._set_job(watched.job_id, 'FAILED', {'error': message})
        elif status is ServeAppStatus.RUNNING:
            self._set_job(watched.job_id, 'SUCCEEDED', None)

    def _settle(self, watched: _Watched, status: ServeAppStatus, message: str) -> None:
        self._update(watched, status, message)
        self._watched.pop(watched.app_id, None)
        if status is not ServeAppStatus.DEPLOY_FAILED:
            self._set_job(watched.job_id, 'FAILED', {'error': message})

    def _set_job(self, job_id: int | None, status: str, extra: dict[str, Any] | None) -> None:
        if job_id is None:
            return
        with self.state.db.write() as session:
            job = session.get(Job, job_id)
            if job is None or job.status in ('SUCCEEDED', 'FAILED', 'STOPPED'):
                return
            job.status = status
            if extra:
                job.meta = {**(job.meta or {}), **extra}
                if 'error' in extra:
                    job.result = {'error': extra['error']}
            job.updated_at = utcnow()


def attach_serve_agent(app: Any, backend_url: str, token: str, *, num_cpus: int | None = None) -> ServeAgent:
    """Give a backend app (``create_app(...)``) its runner; ``close()`` it with the backend."""
    state: AppState = app.state
    agent = ServeAgent(state, backend_url, token, num_cpus=num_cpus)
    state.dispatcher = agent.dispatch
    state.extras['serve_agent'] = agent
    return agent
