"""Job mode: each run is a Ray job submitted through the Ray Jobs API (``JobSubmissionClient``)."""

from __future__ import annotations

import ipaddress
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from synapse_sdk.enums import JobStatus
from synapse_sdk.exceptions import ExecutorError, JobFailedError, SynapseError
from synapse_sdk.plugins._params_check import allow_unknown_default
from synapse_sdk.plugins.entrypoint import ERROR_END, ERROR_START, RESULT_END, RESULT_START
from synapse_sdk.plugins.executors.ray._auth import auth_failure_hint, is_auth_failure
from synapse_sdk.plugins.executors.ray._failures import runtime_env_failure
from synapse_sdk.plugins.executors.ray._logs import LogPump, log_tail
from synapse_sdk.plugins.executors.ray._logs import framed as _framed
from synapse_sdk.plugins.executors.ray._packaging import build_archive, secrets_module
from synapse_sdk.plugins.executors.ray._ray import DEFAULT_DASHBOARD_URL, job_submission_client
from synapse_sdk.plugins.executors.ray._runtime_env import PluginRuntime, worker_environ
from synapse_sdk.plugins.executors.ray._target import checked_params, params_json, resolve_action
from synapse_sdk.utils.redact import add_secret, redact

__all__ = ['LARGE_PARAMS_CHARS', 'WORKER_MODULE', 'RayJobExecutor']

#: Kept for compatibility: params of any size now travel in the job's own package (never an env var).
LARGE_PARAMS_CHARS = 32000
WORKER_MODULE = 'synapse_sdk.plugins.entrypoint'


def _is_local(url: str) -> bool:
    if url == 'auto':
        return True
    host = urlsplit(url if '://' in url else f'http://{url}').hostname or ''
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RayJobExecutor:
    """Runs actions as Ray jobs: submit, then follow status and logs, then collect the result.

    Args:
        dashboard_url: the Ray dashboard (Jobs API) address, ``http://host:8265``, or any address
            ``JobSubmissionClient`` accepts (``auto``, ``ray://host:10001``).
        working_dir: the plugin folder, or a bundle of ``synapse plugin package`` (its wheels install
            with ``--no-index``: no package index is contacted); packaged honouring ``.synapseignore``
            (credentials, params files and ``.git`` never ship) with its ``requirements.txt``, wheels,
            ``env`` and ``runtime_env`` from ``config.yaml``.
        env: settings for the action (``ctx.env``), merged over config ``env``.
        job_id: the backend job the runs belong to: progress, logs and the result are reported to it.
        include_sdk: ship this installation's ``synapse_sdk`` with the job (for SDK development).
        entrypoint_num_cpus / entrypoint_num_gpus / entrypoint_memory: resources of the job's driver.
        runtime_env: extra Ray ``runtime_env`` keys, over the plugin's own.
        python: the interpreter the job runs; default: this one for a cluster on this machine, else
            (and whenever the job installs ``pip``/``uv`` packages) ``python`` on the job's ``PATH``.
        client: a backend client used to read results reported to ``job_id``.
        worker_env: the worker's ``SYNAPSE_*``/``RAY_*`` variables (credentials included) instead of this
            process's environment and configured credentials (an agent submitting for its own backend).
    """

    def __init__(
        self,
        dashboard_url: str | None = None,
        working_dir: str | Path | None = None,
        *,
        dashboard_address: str | None = None,
        env: Mapping[str, Any] | None = None,
        job_id: int | str | None = None,
        include_sdk: bool = False,
        entrypoint_num_cpus: float | None = None,
        entrypoint_num_gpus: float | None = None,
        entrypoint_memory: int | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        language: str | None = None,
        python: str | None = None,
        client: Any | None = None,
        config: Any | None = None,
        worker_env: Mapping[str, str] | None = None,
        jobs_client: Any | None = None,
    ) -> None:
        self.dashboard_url = dashboard_url or dashboard_address or DEFAULT_DASHBOARD_URL
        self.runtime = PluginRuntime.from_dir(working_dir, config)
        if runtime_env:
            self.runtime.runtime_env = {**self.runtime.runtime_env, **dict(runtime_env)}
        self.env = dict(env or {})
        self.job_id = None if job_id is None else str(job_id)
        self.include_sdk = include_sdk
        self.entrypoint_resources = {
            'entrypoint_num_cpus': entrypoint_num_cpus,
            'entrypoint_num_gpus': entrypoint_num_gpus,
            'entrypoint_memory': entrypoint_memory,
        }
        self.language = language
        self.python = python or (sys.executable if _is_local(self.dashboard_url) else 'python')
        self._python_given = python is not None
        self.client = client
        #: the ``SYNAPSE_*``/``RAY_*`` variables (credentials included) the worker gets, instead of this process's
        self.worker_env = None if worker_env is None else dict(worker_env)
        self._jobs: Any | None = jobs_client  #: a ``JobSubmissionClient`` to reuse (made on first use when None)

    def __repr__(self) -> str:
        return f'RayJobExecutor({self.dashboard_url!r}, working_dir={str(self.runtime.plugin_dir)!r})'

    @property
    def jobs(self) -> Any:
        """The ``JobSubmissionClient`` (connected on first use)."""
        if self._jobs is None:
            self._jobs = job_submission_client(self.dashboard_url)
        return self._jobs

    # ------------------------------------------------------------------ submit
    def submit(
        self,
        action: Any,
        params: Mapping[str, Any] | BaseModel | None = None,
        *,
        job_id: int | str | None = None,
        submission_id: str | None = None,
        allow_unknown_params: bool | None = None,
    ) -> str:
        """Submit ``action`` (an action key, an entrypoint, a class or an ``@action`` function); returns the job id.

        Bad params of a class or function action fail here, before anything is submitted (an action
        given by name is checked by the worker before it runs). The params travel in the job's own
        package, never in its env vars, entrypoint or metadata. ``allow_unknown_params`` runs despite
        unknown params keys (a warning in the job's log names them); by default they are refused.
        """
        allow_unknown = allow_unknown_default(allow_unknown_params)
        resolved = resolve_action(action, self.runtime)
        if resolved.entrypoint is None:
            raise ExecutorError(
                f"Action '{resolved.label}' cannot run as a Ray job: it is not importable by name "
                '(defined in __main__ or inside a function). Move it into a module of the working directory'
            )
        payload = checked_params(resolved, params, allow_unknown=allow_unknown, json_ready=True)
        params_json(payload)  # refused here when it is not JSON
        backend_job = self.job_id if job_id is None else str(job_id)
        public, secret = worker_environ(
            self.runtime,
            self.env,
            job_id=backend_job,
            language=self.language,
            environ=self.worker_env,
            resolve=self.worker_env is None,
        )
        add_secret(*secret.values())
        public['SYNAPSE_ACTION_ENTRYPOINT'] = resolved.entrypoint
        metadata = {'synapse_action': resolved.label}
        if backend_job is not None:
            metadata['synapse_job_id'] = backend_job
        with tempfile.TemporaryDirectory(prefix='synapse-job-') as tmp:
            working_dir = None
            if self.runtime.plugin_dir is not None:
                working_dir = str(build_archive(self.runtime.plugin_dir, tmp))
            modules = _sdk_modules(self.include_sdk) or []
            # a package of this job alone, outside the shared working dir, with the credentials and the
            # params (a param may be a secret): never env vars, the entrypoint or metadata; the worker deletes it
            name, folder = secrets_module(secret, tmp, params=payload, allow_unknown=allow_unknown)
            public['SYNAPSE_SECRETS_MODULE'] = name
            modules.append(str(folder))
            runtime_env = self.runtime.ray_runtime_env(working_dir, public, modules or None)
            options = {k: v for k, v in self.entrypoint_resources.items() if v is not None}
            try:
                return str(
                    self.jobs.submit_job(
                        entrypoint=f'{self._python_for(runtime_env)} -m {WORKER_MODULE}',
                        runtime_env=runtime_env,
                        metadata=metadata,
                        submission_id=submission_id,
                        **options,
                    )
                )
            except SynapseError:
                raise
            except Exception as exc:
                raise ExecutorError(f"Submitting action '{resolved.label}' failed: {_clean(exc)}") from exc

    def _python_for(self, runtime_env: Mapping[str, Any]) -> str:
        """The job's interpreter: with ``pip``/``uv`` packages, the virtualenv's ``python`` Ray activates."""
        if self._python_given or not any(key in runtime_env for key in ('pip', 'uv', 'conda')):
            return self.python
        return 'python'

    # ------------------------------------------------------------------ follow
    def get_status(self, job_id: str) -> JobStatus:
        """The job's status (``PENDING RUNNING SUCCEEDED FAILED STOPPED``)."""
        return JobStatus(str(self._call('get_job_status', job_id)))

    def get_info(self, job_id: str) -> dict[str, Any]:
        """Status, message, timestamps, metadata and entrypoint of the job (``runtime_env`` left out)."""
        info = self._call('get_job_info', job_id)
        keys = ('submission_id', 'status', 'message', 'entrypoint', 'metadata', 'start_time', 'end_time')
        out = {key: getattr(info, key, None) for key in keys}
        out['status'] = JobStatus(str(out['status']))
        out['driver_exit_code'] = getattr(info, 'driver_exit_code', None)
        return out

    def get_logs(self, job_id: str) -> str:
        """Everything the job printed so far (secrets masked)."""
        return redact(str(self._call('get_job_logs', job_id)))

    def stream_logs(self, job_id: str) -> Iterator[str]:
        """Chunks of the job's output as they arrive, until the job ends (secrets masked).

        Closing the generator early (``break``, ``close()``) stops following the job at once.
        """
        jobs = self.jobs
        pump = LogPump(lambda: jobs.tail_job_logs(job_id), name=f'synapse-logs-{job_id}').start()
        try:
            while True:
                kind, value = pump.get()
                if kind == 'end':
                    return
                if kind == 'error':
                    raise ExecutorError(f"Streaming logs of job '{job_id}' failed: {_clean(value)}") from value
                yield redact(str(value))
        finally:
            pump.close()

    def wait(self, job_id: str, timeout_seconds: float = 300, poll_interval: float = 0.1) -> Any:
        """Wait for the job to end and return its result.

        Raises:
            JobFailedError: the job ended FAILED or STOPPED (the message carries the action's error).
            TimeoutError: the job was still running after ``timeout_seconds`` (it keeps running).
        """
        deadline = time.monotonic() + timeout_seconds
        interval = poll_interval
        while True:
            status = self.get_status(job_id)
            if status.is_terminal():
                return self.get_result(job_id)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Job '{job_id}' did not finish within {timeout_seconds} s (status {status.value}); "
                    'it is still running: stop it with executor.stop(job_id)'
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, 1.0)

    def stop(self, job_id: str) -> bool:
        """Ask Ray to stop the job; False when it had already ended."""
        return bool(self._call('stop_job', job_id))

    def get_result(self, job_id: str) -> Any:
        """The action's result as structured data (a model's JSON dump, a dict, or ``{'result': v}``).

        Read from the backend job when the run reported to one and a ``client`` was given, else
        from the worker's result record at the end of the job's log (read as printed: values that
        merely look like secrets come back unchanged; the worker masks the run's own credentials).

        Raises:
            JobFailedError: the job ended FAILED or STOPPED.
            ExecutorError: the job has not ended, or ended without a result record.
        """
        info = self._call('get_job_info', job_id)
        status = JobStatus(str(info.status))
        if status in (JobStatus.FAILED, JobStatus.STOPPED):
            raise self._failed(job_id, status, info)
        if not status.is_terminal():
            raise ExecutorError(f"Job '{job_id}' has no result yet (status {status.value})")
        backend_result = self._backend_result(info)
        if backend_result is not None:
            return backend_result
        record = self._record(job_id, info, RESULT_START, RESULT_END)
        if record is None:
            raise ExecutorError(
                f"Job '{job_id}' succeeded but printed no result record; was it run by {WORKER_MODULE}?"
            )
        return record

    # ------------------------------------------------------------------ helpers
    def _record(self, job_id: str, info: Any, start: str, end: str) -> dict[str, Any] | None:
        """The worker's framed record: from the log's last lines, else from the whole log."""
        tail = log_tail(self.jobs, job_id, getattr(info, 'driver_node_id', None))
        record = _framed(tail, start, end) if tail else None
        if record is None:
            record = _framed(str(self._call('get_job_logs', job_id)), start, end)
        return record

    def _backend_result(self, info: Any) -> Any | None:
        if self.client is None:
            return None
        backend_job = (getattr(info, 'metadata', None) or {}).get('synapse_job_id')
        if not backend_job:
            return None
        try:
            return self.client.get_job(backend_job).get('result')
        except Exception:  # fall back to the worker's record
            return None

    def _failed(self, job_id: str, status: JobStatus, info: Any) -> JobFailedError:
        """The JobFailedError of an ended job: the action's error, or Ray's reason in one line.

        Ray's full message (e.g. a runtime env traceback) is kept on ``details['ray_message']``.
        """
        ray_message = redact(str(getattr(info, 'message', None) or ''))
        if status is JobStatus.STOPPED:
            message = f"Job '{job_id}' ended with status STOPPED (stopped on request)"
        else:
            error = self._record(job_id, info, ERROR_START, ERROR_END)
            if error is not None:
                reason = f'{error.get("type")}: {error.get("message")}'
            else:
                reason = runtime_env_failure(ray_message) or _first_line(ray_message)
            message = f"Job '{job_id}' ended with status FAILED: {reason}"
        return JobFailedError(job_id, status.value, message, {'ray_message': ray_message})

    def _call(self, method: str, job_id: str) -> Any:
        try:
            return getattr(self.jobs, method)(job_id)
        except SynapseError:
            raise
        except Exception as exc:
            raise ExecutorError(f"Ray Jobs API {method}('{job_id}') failed: {_clean(exc)}") from exc


def _clean(exc: BaseException) -> str:
    if is_auth_failure(exc):
        return auth_failure_hint()
    text = redact(str(exc)).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 300 else text


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return 'no error record; see the job logs'
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].rstrip(':')} (Ray's full message is on error.details['ray_message'])"


def _sdk_modules(include: bool) -> list[str] | None:
    if not include:
        return None
    import synapse_sdk

    return [str(Path(synapse_sdk.__file__).resolve().parent)]
