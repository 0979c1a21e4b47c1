"""The inference method: the pre-processor lifecycle (prepare) and per-task inference calls."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from synapse_sdk.enums import ServeAppStatus
from synapse_sdk.exceptions import ClientError, PreProcessorError
from synapse_sdk.plugins.actions.to_task._release import max_batch_size
from synapse_sdk.plugins.actions.to_task.processing import TaskFailed, file_name
from synapse_sdk.plugins.actions.to_task.steps import StepFailure, as_step_failure
from synapse_sdk.utils.redact import sanitize_urls

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.action import ToTaskAction
    from synapse_sdk.plugins.actions.to_task.context import ToTaskContext

FAILED_STATES = {'DEPLOY_FAILED', 'UNHEALTHY', 'UNAVAILABLE'}
PENDING_STATES = {ServeAppStatus.NOT_STARTED.value, ServeAppStatus.DEPLOYING.value}
DEFERRED_CAP_SECONDS = 1800.0
DEFERRED_FIRST_DELAY = 2.0  #: seconds; grows by half each poll, up to DEFERRED_MAX_DELAY
DEFERRED_MAX_DELAY = 10.0


# --------------------------------------------------------------------------- prepare
def prepare(action: ToTaskAction, context: ToTaskContext) -> dict[str, Any]:
    """Check params, read the release, make sure its serve app runs; the context's inference info."""
    p = action.params
    for field, value in (('pre_processor', p.pre_processor), ('model', p.model), ('agent', p.agent)):
        if value is None:
            raise StepFailure(f'{field} is required for inference method')
    client = context.client
    try:
        release = client.get_plugin_release(p.pre_processor)
        if not isinstance(release, dict):
            raise StepFailure('Invalid pre-processor response')
        config = release.get('config') if isinstance(release.get('config'), dict) else {}
        code, version = config.get('code'), release.get('version')
        if not code or not version:
            raise StepFailure('Invalid pre-processor configuration')
    except (StepFailure, PreProcessorError):
        raise
    except Exception as exc:
        raise as_step_failure('Failed to prepare inference', exc) from exc
    ensure_running(action, context, code, config)
    max_batch = max_batch_size(config)
    batch_size = max(max_batch or 1, p.batch_size, int(p.pre_processor_params.get('batch_size') or 1), 1)
    return {'code': code, 'version': version, 'config': config, 'max_batch_size': max_batch, 'batch_size': batch_size}


def dispatch_payload(config: dict[str, Any]) -> dict[str, Any]:
    """Deployment params from ``actions.inference.required_resources`` (optional keys omitted, never null)."""
    resources = ((config.get('actions') or {}).get('inference') or {}).get('required_resources') or {}

    def first(*keys: str) -> Any:
        return next((resources[k] for k in keys if resources.get(k) is not None), None)

    payload: dict[str, Any] = {
        'num_cpus': first('required_cpu_count', 'num_cpus') or 1,
        'num_gpus': first('required_gpu_count', 'num_gpus') or 0.1,
    }
    replicas, memory = first('num_replicas'), first('memory', 'memory_bytes')
    if replicas is not None:
        payload['num_replicas'] = replicas
    if memory is not None:
        payload['memory'] = memory
    return payload


def classify(apps: Any) -> tuple[str, str | None]:
    """``('running'|'failed'|'pending', status)`` for a serve-application listing."""
    statuses = [a.get('status') for a in _apps(apps)]
    if 'RUNNING' in statuses:
        return 'running', 'RUNNING'
    failed = next((s for s in statuses if s in FAILED_STATES), None)
    if failed is not None:
        return 'failed', failed
    return 'pending', None


def _apps(reply: Any) -> list[dict[str, Any]]:
    if isinstance(reply, tuple) and len(reply) == 2:
        reply = list(reply[0])
    if isinstance(reply, dict):
        reply = reply.get('results')
    if isinstance(reply, list):
        return [a for a in reply if isinstance(a, dict)]
    return []


def ensure_running(action: ToTaskAction, context: ToTaskContext, code: str, config: dict[str, Any]) -> None:
    """Detect, dispatch if needed, and wait until the pre-processor's serve app is RUNNING."""
    p, client, ctx = action.params, context.client, action.ctx
    query = {'plugin_code': code, 'job__agent': p.agent}
    apps = _apps(client.list_serve_applications(params=query))
    statuses = {a.get('status') for a in apps}
    if 'RUNNING' in statuses:
        ctx.log_message('Pre-processor already running', 'info')
        return
    if not statuses & PENDING_STATES:
        body = {'agent': p.agent, 'action': 'deployment', 'params': dispatch_payload(config)}
        if ctx.language:
            body['language'] = ctx.language
        try:
            client.run_plugin(code, body)
        except ClientError as exc:
            name = type(exc).__name__
            raise PreProcessorError(
                f'Pre-processor deployment dispatch failed ({name})', phase='dispatch', error_type=name
            ) from type(exc)(exc.status_code, sanitize_urls(str(exc.detail)))
    _wait(action, client, query)


def _wait(action: ToTaskAction, client: Any, query: dict[str, Any]) -> None:
    p, ctx = action.params, action.ctx
    timeout, poll = p.pre_processor_timeout_seconds, p.pre_processor_poll_seconds
    started = time.monotonic()
    deadline = started + timeout
    last_error: Exception | None = None
    while True:
        try:
            bucket, status = classify(client.list_serve_applications(params=query))
            last_error = None
        except Exception as exc:  # a poll error counts as pending
            bucket, status, last_error = 'pending', None, exc
        if bucket == 'running':
            return
        if bucket == 'failed':
            raise PreProcessorError(
                f'Pre-processor deployment failed: serve application reached terminal state ({status})',
                phase='wait',
                status=status,
            )
        now = time.monotonic()
        elapsed = now - started
        ctx.set_progress(min(40 + elapsed / timeout * 50, 90), 100, 'prepare')
        if now >= deadline:
            error = PreProcessorError('Pre-processor did not become ready within timeout', phase='wait')
            if last_error is not None:
                raise error from ClientError(0, sanitize_urls(str(last_error)))
            raise error
        ctx.log_message(f'Still waiting... ({int(elapsed)}s elapsed)', 'info')
        time.sleep(max(0.0, min(poll, deadline - now)))


# --------------------------------------------------------------------------- per task
def annotate(action: ToTaskAction, task: dict[str, Any], files: list[dict[str, Any]], primary: dict[str, Any]) -> Any:
    """Call the pre-processor for one task and convert its answer."""
    p, ctx = action.params, action.ctx
    info = getattr(action, '_inference_info', None) or {}
    data_files = [
        {'url': f.get('url'), 'file_name': file_name(f), 'specification_name': f.get('specification')}
        for f in files
        if f.get('url')
    ]
    params = action.setup_inference_params(
        primary['url'],
        file_name(primary),
        data_files,
        model_id=p.model,
        pre_processor_params=p.pre_processor_params,
        pre_processor_config=info.get('config') or {},
        task_data=task,
    )
    body: dict[str, Any] = {'agent': p.agent, 'action': 'inference', 'version': info.get('version'), 'params': params}
    if ctx.language:
        body['language'] = ctx.language
    result = ctx.client.run_plugin(info.get('code'), body)
    if isinstance(result, dict) and result.get('__synapse_deferred__'):
        result = _poll_deferred(action, info, body, result)
    if not result:
        raise TaskFailed('Inference failed: pre-processor returned an empty or failed response — task update skipped')
    return action.convert_data_from_inference(result, task)


def _poll_deferred(action: ToTaskAction, info: dict[str, Any], body: dict[str, Any], envelope: dict[str, Any]) -> Any:
    ticket = envelope.get('ticket')
    delay, waited = DEFERRED_FIRST_DELAY, 0.0
    while True:
        status = envelope.get('status')
        if status == 'failed':
            raise TaskFailed(f'Deferred inference failed: {sanitize_urls(str(envelope.get("error") or "unknown"))}')
        if status == 'not_found':
            raise TaskFailed('Deferred inference ticket not found')
        if waited >= DEFERRED_CAP_SECONDS:
            raise TaskFailed(f'Deferred inference timed out after {int(DEFERRED_CAP_SECONDS)}s while polling')
        pause = min(delay, DEFERRED_CAP_SECONDS - waited)
        _pause(action, pause)
        waited += pause
        delay = min(delay * 1.5, DEFERRED_MAX_DELAY)
        poll = {
            **body,
            'params': {'model': action.params.model, 'method': 'post', 'json': {'__synapse_poll__': ticket}},
        }
        reply = action.ctx.client.run_plugin(info.get('code'), poll)
        if not (isinstance(reply, dict) and reply.get('__synapse_deferred__')):
            return reply
        envelope = reply


def _pause(action: ToTaskAction, seconds: float) -> None:
    """Sleep between polls; during the annotate step a stopping run ends it at once (``RunStopped``)."""
    io = action._task_io
    if io is None:
        time.sleep(seconds)
    else:
        io.pause(seconds)
