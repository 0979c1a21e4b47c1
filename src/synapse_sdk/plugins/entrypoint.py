"""The worker side of Ray runs: ``python -m synapse_sdk.plugins.entrypoint``.

It reads the run from the environment (``SYNAPSE_ACTION_ENTRYPOINT``, ``SYNAPSE_JOB_ID`` ...), loads
the plugin's credentials and the action's params from the job's own package ``SYNAPSE_SECRETS_MODULE``
(deleted once read) or ``SYNAPSE_SECRETS_FILE`` (never from the command line or env vars; params set
by older submitters in ``SYNAPSE_ACTION_PARAMS``/``SYNAPSE_ACTION_PARAMS_FILE`` are still read),
runs the action through the one runner every
executor uses, and prints the result as one JSON record between ``__SYNAPSE_RESULT_START__`` and
``__SYNAPSE_RESULT_END__`` (a failure as one record between the ``ERROR`` markers, exit code 1).
When the run belongs to a backend job, events, progress, metrics and the final status and result
are reported to it as well (:class:`~synapse_sdk.loggers.JobLogger`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, PluginError, SynapseError
from synapse_sdk.loggers import BaseLogger, ConsoleLogger, JobLogger
from synapse_sdk.utils.redact import add_secret, redact

__all__ = [
    'ERROR_END',
    'ERROR_START',
    'RESULT_END',
    'RESULT_START',
    'main',
    'result_payload',
    'run_entrypoint',
]

RESULT_START = '__SYNAPSE_RESULT_START__'
RESULT_END = '__SYNAPSE_RESULT_END__'
ERROR_START = '__SYNAPSE_ERROR_START__'
ERROR_END = '__SYNAPSE_ERROR_END__'

_log = logging.getLogger('synapse_sdk')


def result_payload(value: Any) -> dict[str, Any]:
    """The result as JSON-ready data: a model's JSON dump, a dict as is, anything else as ``{'result': v}``."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode='json')
    if isinstance(value, Mapping):
        return json.loads(json.dumps(dict(value), default=str))
    return json.loads(json.dumps({'result': value}, default=str))


def _client_or_none() -> Any | None:
    from synapse_sdk.plugins._backend import default_client

    try:
        return default_client()
    except Exception as exc:  # no backend reachable: run without reporting
        _log.warning('No backend client for job reporting: %s', redact(str(exc)))
        return None


def _report(client: Any, job_id: str, data: dict[str, Any]) -> None:
    try:
        client.update_job(job_id, data)
    except Exception as exc:  # reporting must never change the run's outcome
        _log.warning('Job %s: could not report the final status: %s', job_id, redact(str(exc)))


def run_entrypoint(
    target: Any,
    params: Mapping[str, Any] | None,
    *,
    plugin_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    report_job_id: str | None = None,
    language: str | None = None,
    allow_unknown: bool | None = None,
    wrap_logger: Callable[[BaseLogger | None], BaseLogger] | None = None,
) -> Any:
    """Load and run one action; the shared core of the job worker and the task-mode actor.

    Args:
        target: an entrypoint string (imported from ``plugin_dir`` in isolation) or an action.
        params: the action's params (validated here, in the worker).
        plugin_dir: the folder the plugin's modules are imported from.
        env: the action's settings (``ctx.env``).
        job_id: ``ctx.job_id``.
        report_job_id: the backend job to report progress, logs and the result to, if any.
        language: ``ctx.language``.
        allow_unknown: run despite unknown params keys (a warning names them); default: refused.
        wrap_logger: builds the run's logger around the reporting one (None when not reporting):
            task mode relays every update to the caller this way.
    """
    from synapse_sdk.plugins._backend import default_client
    from synapse_sdk.plugins._function_action import action_class_for
    from synapse_sdk.plugins._loading import load_entrypoint
    from synapse_sdk.plugins.context import RuntimeContext
    from synapse_sdk.plugins.executors._run import run_action, validate_params

    action = load_entrypoint(target, plugin_dir) if isinstance(target, str) else target
    action_cls = action_class_for(action)
    client = _client_or_none() if report_job_id else None
    reporting: BaseLogger | None = JobLogger(client, report_job_id) if client and report_job_id else None
    if wrap_logger is not None:
        logger = wrap_logger(reporting)
    else:
        logger = reporting or ConsoleLogger(sys.stdout)
    try:
        warnings: list[str] = []
        validated = validate_params(action_cls, params, allow_unknown=allow_unknown, warnings=warnings)
        ctx = RuntimeContext(
            logger=logger,
            env=dict(env or {}),
            job_id=job_id,
            client=client,
            language=language,
            client_factory=None if client is not None else default_client,
        )
        for message in warnings:
            logger.warning(message)
        result = run_action(action_cls, validated, ctx)
    except BaseException as exc:
        if not logger.finished:
            logger.finish()
        if client is not None and report_job_id:
            _report(client, report_job_id, {'status': 'FAILED', 'result': {'error': redact(str(exc))}})
        raise
    if client is not None and report_job_id:
        _report(client, report_job_id, {'status': 'SUCCEEDED', 'result': result_payload(result)})
    return result


# --------------------------------------------------------------------------- the job worker


def _secrets_package_file(name: str) -> Path | None:
    """``<entry>/<name>/secrets.json`` for the first ``sys.path`` entry that has it (Ray's ``py_modules``)."""
    from synapse_sdk.plugins.executors.ray._packaging import SECRETS_MODULE_FILE

    entries = [*sys.path, *os.environ.get('PYTHONPATH', '').split(os.pathsep)]
    for entry in dict.fromkeys(e for e in entries if e):
        candidate = Path(entry) / name / SECRETS_MODULE_FILE
        if candidate.is_file():
            return candidate
    return None


def _take_secrets_package(name: str) -> str:
    """Read the job's credentials package and delete it, so the plugin never finds it on disk."""
    from synapse_sdk.plugins.executors.ray._packaging import SECRETS_MODULE_PREFIX

    if not (name.startswith(SECRETS_MODULE_PREFIX) and name.isidentifier()):
        raise ExecutionError(f'SYNAPSE_SECRETS_MODULE must name a {SECRETS_MODULE_PREFIX}* package, got {name!r}')
    file = _secrets_package_file(name)
    if file is None:
        raise ExecutionError(
            f'The run credentials package {name} is not on sys.path; was the job submitted by the SDK?'
        )
    try:
        return file.read_text(encoding='utf-8')
    finally:
        file.unlink(missing_ok=True)
        try:
            file.parent.rmdir()
        except OSError:
            pass
        root = str(file.parent.parent)
        if root in sys.path:
            sys.path.remove(root)
        _keep_from_children(file.parent.parent.name)


#: the job config Ray's job supervisor hands the driver; ``ray.init()`` in the driver reads it
_JOB_CONFIG_ENV = 'RAY_JOB_CONFIG_JSON_ENV_VAR'


def _keep_from_children(package_dir: str) -> None:
    """Drop the credentials package (unpacked as ``package_dir``) from the runtime env this job's tasks inherit.

    Ray gives every task and actor the job's ``py_modules``, so without this a plugin that starts Ray work
    (Ray Train, Ray Data) would have the package unpacked, credentials and all, on every node it touches.
    """
    raw = os.environ.get(_JOB_CONFIG_ENV)
    if not raw:
        return
    try:
        config = json.loads(raw)
        runtime_env = config.get('runtime_env') or {}
        modules = runtime_env.get('py_modules') or []
    except (ValueError, AttributeError):
        return
    kept = [m for m in modules if not (isinstance(m, str) and m.rstrip('/').rsplit('/', 1)[-1].startswith(package_dir))]
    if len(kept) == len(modules):
        return
    if kept:
        runtime_env['py_modules'] = kept
    else:
        runtime_env.pop('py_modules', None)
    os.environ[_JOB_CONFIG_ENV] = json.dumps(config)


@dataclass
class _Shipped:
    """What the job's own package carried: credentials (their values, for masking), params, strictness."""

    secrets: list[str] = field(default_factory=list)
    params: dict[str, Any] | None = None
    allow_unknown: bool | None = None


def _load_secrets(environ: dict[str, str]) -> _Shipped:
    """Merge the run's credentials into the environment, mark them secret; return them with the run's params.

    They come from the job's own package (``SYNAPSE_SECRETS_MODULE``, deleted once read: the params
    travel in it too, so neither appears in Ray's job metadata) or from a file (``SYNAPSE_SECRETS_FILE``).
    """
    module = environ.get('SYNAPSE_SECRETS_MODULE')
    name = environ.get('SYNAPSE_SECRETS_FILE')
    if not module and not name:
        return _Shipped()
    shipped = _Shipped()
    try:
        if module:
            package = json.loads(_take_secrets_package(module))
            if not isinstance(package, dict) or package.get('run') != module:
                raise ValueError('the package belongs to another run')
            secrets = package['secrets']
            if 'params' in package:
                if not isinstance(package['params'], dict):
                    raise ValueError('the params are not an object')
                shipped.params = package['params']
            allow = package.get('allow_unknown')
            shipped.allow_unknown = allow if isinstance(allow, bool) else None
        else:
            secrets = json.loads(Path(str(name)).read_text(encoding='utf-8'))
    except (OSError, ValueError, KeyError) as exc:
        raise ExecutionError(f'Cannot read the run credentials {module or name}: {type(exc).__name__}') from None
    values = {str(k): str(v) for k, v in secrets.items()}
    add_secret(*values.values())
    environ.update(values)
    shipped.secrets = [v for v in values.values() if len(v) >= 6]
    return shipped


def _mask_known(value: Any, secrets: list[str]) -> Any:
    """``value`` with the run's own credentials masked wherever they occur literally (nothing else changes)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, '***')
        return value
    if isinstance(value, dict):
        return {_mask_known(k, secrets): _mask_known(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_known(v, secrets) for v in value]
    return value


def _params(environ: Mapping[str, str]) -> dict[str, Any]:
    file = environ.get('SYNAPSE_ACTION_PARAMS_FILE')
    source = 'SYNAPSE_ACTION_PARAMS'
    try:
        if file:
            source = file
            text = Path(file).read_text(encoding='utf-8')
        else:
            text = environ.get('SYNAPSE_ACTION_PARAMS') or '{}'
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise PluginError(f'Cannot read the action params from {source}: {exc}') from None
    if not isinstance(data, dict):
        raise PluginError(f'The action params in {source} must be a JSON object, got {type(data).__name__}')
    return data


def _plugin_env(environ: Mapping[str, str]) -> dict[str, str]:
    names = json.loads(environ.get('SYNAPSE_PLUGIN_ENV_KEYS') or '[]')
    return {name: environ[name] for name in names if name in environ}


def _emit(start: str, payload: dict[str, Any], end: str) -> None:
    sys.stdout.flush()
    sys.stdout.write(f'\n{start}{json.dumps(payload, separators=(",", ":"), default=str)}{end}\n')
    sys.stdout.flush()


def main(environ: dict[str, str] | None = None) -> int:
    """Run the action the environment describes; 0 on success, 1 on failure."""
    env = os.environ if environ is None else environ
    shipped = _Shipped()
    try:
        shipped = _load_secrets(env)  # type: ignore[arg-type]
        entrypoint = env.get('SYNAPSE_ACTION_ENTRYPOINT')
        if not entrypoint:
            raise PluginError('SYNAPSE_ACTION_ENTRYPOINT is not set: the worker does not know which action to run')
        result = run_entrypoint(
            entrypoint,
            shipped.params if shipped.params is not None else _params(env),
            plugin_dir=Path.cwd(),
            env=_plugin_env(env),
            job_id=env.get('SYNAPSE_JOB_ID') or env.get('RAY_JOB_ID'),
            report_job_id=env.get('SYNAPSE_JOB_ID'),
            language=env.get('SYNAPSE_LANGUAGE') or 'en',
            allow_unknown=shipped.allow_unknown,
        )
    except Exception as exc:
        error = {
            'type': type(exc).__name__,
            'message': redact(str(exc)) or type(exc).__name__,
            'synapse': isinstance(exc, SynapseError),
        }
        details = getattr(exc, 'details', None)
        if isinstance(details, dict):
            error['details'] = json.loads(redact(json.dumps(details, default=str)))
        print(f'Error: {error["type"]}: {error["message"]}', file=sys.stderr)
        _emit(ERROR_START, error, ERROR_END)
        return 1
    # the record is read back as printed: only the run's own credentials are masked in it
    _emit(RESULT_START, _mask_known(result_payload(result), shipped.secrets), RESULT_END)
    return 0


if __name__ == '__main__':
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    sys.exit(main())
