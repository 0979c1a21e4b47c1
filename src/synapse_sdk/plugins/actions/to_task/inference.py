"""The pre-processor lifecycle of the inference method (in ``prepare``): detect, dispatch, wait.

When :func:`prepare` returns, the pre-processor's serve application is RUNNING and the
:class:`~.models.InferenceTarget` says what each task calls (:mod:`.task` makes the calls).
Errors are ``PreProcessorError`` with the exact messages of ``to_task.md`` §5, or a ``StepFailure``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from synapse_sdk.enums import ServeAppStatus
from synapse_sdk.exceptions import ClientError, PreProcessorError
from synapse_sdk.plugins.actions.to_task.models import InferenceTarget, ToTaskParams, release_max_batch_size
from synapse_sdk.plugins.context import BackendClientProtocol
from synapse_sdk.plugins.steps.orchestrator import StepFailure
from synapse_sdk.utils.redact import sanitize_urls

__all__ = ['Reporter', 'classify', 'dispatch_payload', 'prepare', 'read_listing']

PENDING_STATES = frozenset({ServeAppStatus.NOT_STARTED, ServeAppStatus.DEPLOYING})


class Reporter(Protocol):
    """Where the lifecycle reports (a ``RuntimeContext``)."""

    language: str | None

    def log_message(self, message: str, context: Any = ...) -> None: ...

    def set_progress(self, current: float, total: float, step: str | None = None) -> None: ...


def as_step_failure(prefix: str, exc: Exception) -> StepFailure:
    """``<prefix>: <sanitised error>``; raise it ``from exc`` so the StepError's cause is ``exc``."""
    return StepFailure(f'{prefix}: {sanitize_urls(str(exc)) or type(exc).__name__}')


def prepare(client: BackendClientProtocol, params: ToTaskParams, ctx: Reporter) -> InferenceTarget:
    """Check params, read the release, make sure its serve app runs; what each task will call."""
    for name, value in (('pre_processor', params.pre_processor), ('model', params.model), ('agent', params.agent)):
        if value is None:
            raise StepFailure(f'{name} is required for inference method')
    assert params.pre_processor is not None
    try:
        release = client.get_plugin_release(params.pre_processor)
        if not isinstance(release, dict):
            raise StepFailure('Invalid pre-processor response')
        raw = release.get('config')
        config: dict[str, Any] = raw if isinstance(raw, dict) else {}
        code, version = config.get('code'), release.get('version')
        if not code or not version:
            raise StepFailure('Invalid pre-processor configuration')
    except (StepFailure, PreProcessorError):
        raise
    except Exception as exc:
        raise as_step_failure('Failed to prepare inference', exc) from exc
    ensure_running(client, params, ctx, str(code), config)
    ctx.set_progress(100, 100, 'prepare')
    max_batch = release_max_batch_size(config)
    from_params = params.pre_processor_params.get('batch_size')
    batch_size = max(max_batch or 1, params.batch_size, from_params if isinstance(from_params, int) else 1, 1)
    return InferenceTarget(str(code), str(version), config, max_batch, batch_size)


def dispatch_payload(config: Mapping[str, Any]) -> dict[str, Any]:
    """Deployment params from ``actions.inference.required_resources`` (optional keys omitted, never null)."""
    resources = ((config.get('actions') or {}).get('inference') or {}).get('required_resources') or {}

    def first(*keys: str) -> Any:
        return next((resources[k] for k in keys if resources.get(k) is not None), None)

    cpus, gpus = first('required_cpu_count', 'num_cpus'), first('required_gpu_count', 'num_gpus')
    payload: dict[str, Any] = {  # an explicit 0 is a value (no GPU); only a missing key takes the default
        'num_cpus': 1 if cpus is None else cpus,
        'num_gpus': 0.1 if gpus is None else gpus,
    }
    replicas, memory = first('num_replicas'), first('memory', 'memory_bytes')
    if replicas is not None:
        payload['num_replicas'] = replicas
    if memory is not None:
        payload['memory'] = memory
    return payload


def _status(app: Mapping[str, Any]) -> ServeAppStatus | None:
    status = app.get('status')
    try:
        return ServeAppStatus(status) if isinstance(status, str) else None
    except ValueError:
        return None


def _apps(reply: Any) -> list[Mapping[str, Any]]:
    if isinstance(reply, tuple) and len(reply) == 2:
        reply = list(reply[0])
    if isinstance(reply, dict):
        reply = reply.get('results')
    if isinstance(reply, list):
        return [a for a in reply if isinstance(a, dict)]
    return []


def classify(apps: Any) -> tuple[str, ServeAppStatus | None]:
    """``('running'|'failed'|'pending', status)`` for a serve-application listing."""
    bucket, status, _ = read_listing(apps)
    return bucket, None if bucket == 'pending' else status


def read_listing(apps: Any) -> tuple[str, ServeAppStatus | None, str | None]:
    """``(bucket, status, reason)``: :func:`classify` plus the message of the app that decided it (or of
    any pending app), when the backend gives one (``message`` or ``meta.message``)."""
    rows = _apps(apps)
    statuses = [_status(a) for a in rows]
    if ServeAppStatus.RUNNING in statuses:
        return 'running', ServeAppStatus.RUNNING, None
    failed = next((i for i, s in enumerate(statuses) if s is not None and s.is_failure()), None)
    if failed is not None:
        return 'failed', statuses[failed], _message(rows[failed])
    pending = next((_message(a) for a in rows if _message(a)), None)
    current = next((s for s in statuses if s is not None), None)
    return 'pending', current, pending


def _message(app: Mapping[str, Any]) -> str | None:
    meta = app.get('meta')
    text = app.get('message') or (meta.get('message') if isinstance(meta, dict) else None)
    return sanitize_urls(str(text)) if text else None


def ensure_running(
    client: BackendClientProtocol, params: ToTaskParams, ctx: Reporter, code: str, config: Mapping[str, Any]
) -> None:
    """Detect, dispatch if needed, and wait until the pre-processor's serve app is RUNNING."""
    query = {'plugin_code': code, 'job__agent': params.agent}
    statuses = {_status(a) for a in _apps(client.list_serve_applications(params=query))}
    if ServeAppStatus.RUNNING in statuses:
        ctx.log_message('Pre-processor already running', 'info')
        return
    if not statuses & PENDING_STATES:
        body: dict[str, Any] = {'agent': params.agent, 'action': 'deployment', 'params': dispatch_payload(config)}
        if ctx.language:
            body['language'] = ctx.language
        try:
            client.run_plugin(code, body)
        except ClientError as exc:
            name = type(exc).__name__
            raise PreProcessorError(
                f'Pre-processor deployment dispatch failed ({name})', phase='dispatch', error_type=name
            ) from type(exc)(exc.status_code, sanitize_urls(str(exc.detail)))
    _wait(client, params, ctx, query)


def _wait(client: BackendClientProtocol, params: ToTaskParams, ctx: Reporter, query: dict[str, Any]) -> None:
    timeout, poll = params.pre_processor_timeout_seconds, params.pre_processor_poll_seconds
    started = time.monotonic()
    deadline = started + timeout
    last_error: Exception | None = None
    reason: str | None = None
    seen: ServeAppStatus | None = None
    while True:
        try:
            bucket, status, message = read_listing(client.list_serve_applications(params=query))
            reason, last_error = message or reason, None
        except Exception as exc:  # a poll error counts as pending
            bucket, status, last_error = 'pending', None, exc
        now = time.monotonic()
        elapsed = now - started
        if status is not None and status is not seen:
            ctx.log_message(f'Pre-processor {query["plugin_code"]}: {status} ({elapsed:.1f}s)', 'info')
            seen = status
        if bucket == 'running':
            return
        suffix = f'; last-known reason: {reason}' if reason else ''
        if bucket == 'failed':
            raise PreProcessorError(
                f'Pre-processor deployment failed: serve application reached terminal state ({status}){suffix}',
                phase='wait',
                status=status,
            )
        ctx.set_progress(min(40 + elapsed / timeout * 50, 90), 100, 'prepare')
        if now >= deadline:
            error = PreProcessorError(f'Pre-processor did not become ready within timeout{suffix}', phase='wait')
            if last_error is not None:
                raise error from ClientError(0, sanitize_urls(str(last_error)))
            raise error
        ctx.log_message(f'Still waiting... ({int(elapsed)}s elapsed)', 'info')
        time.sleep(max(0.0, min(poll, deadline - now)))
