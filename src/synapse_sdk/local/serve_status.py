"""Reading Ray Serve's and Ray Jobs' answers for the local agent: app status, messages without tracebacks, errors.

Also :func:`infeasible_reason`, the agent's check of a replica's request against the cluster's node totals.
"""

from __future__ import annotations

import json
import re
from typing import Any

from synapse_sdk.enums import ServeAppStatus
from synapse_sdk.exceptions import ClientError
from synapse_sdk.utils.redact import redact

__all__ = ['app_message', 'infeasible_reason', 'job_error', 'status_of']


def infeasible_reason(params: dict[str, Any], nodes: list[dict[str, float]]) -> str | None:
    """Ray's words for a replica no node can hold, or None when some node can."""
    wanted = {'CPU': float(params.get('num_cpus') or 0), 'GPU': float(params.get('num_gpus') or 0)}
    if params.get('memory'):
        wanted['memory'] = float(params['memory'])
    wanted = {k: v for k, v in wanted.items() if v > 0}
    if any(all(node.get(k, 0.0) >= v for k, v in wanted.items()) for node in nodes):
        return None
    largest = {k: max((node.get(k, 0.0) for node in nodes), default=0.0) for k in ('CPU', 'GPU', 'memory')}
    available = {k: v for k, v in largest.items() if v > 0}
    return (
        f'Resources required for each replica: {json.dumps(wanted)}, total resources available: '
        f'{json.dumps(available)} (no node of the cluster can hold one replica)'
    )


def status_of(app: dict[str, Any]) -> tuple[ServeAppStatus, str | None]:
    try:
        status = ServeAppStatus(str(app.get('status')))
    except ValueError:
        status = ServeAppStatus.DEPLOYING
    messages = [str(app.get('message') or '')]
    for deployment in (app.get('deployments') or {}).values():
        if isinstance(deployment, dict) and deployment.get('message'):
            messages.append(str(deployment['message']))
    text = ' '.join(_summary(m) for m in messages if m.strip())
    return status, redact(text)[:1000] or None


_EXCEPTION_LINE = re.compile(r'^\s*(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Failed)\b.*$')


def _summary(message: str) -> str:
    """A message without its traceback: its first line and the last exception line (Ray's errors embed both)."""
    lines = [line.strip() for line in re.sub(r'\x1b\[[0-9;]*m', '', message).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ''
    errors = [line for line in lines[1:] if _EXCEPTION_LINE.match(line)]
    return f'{lines[0]} {errors[-1]}' if errors else lines[0]


def job_error(logs: str) -> str | None:
    from synapse_sdk.plugins.entrypoint import ERROR_END, ERROR_START

    start = logs.rfind(ERROR_START)
    if start < 0:
        lines = [line for line in logs.strip().splitlines() if line.strip()]
        return lines[-1][:500] if lines else None
    end = logs.find(ERROR_END, start)
    chunk = logs[start + len(ERROR_START) : end if end > 0 else None].strip()
    try:
        record = json.loads(chunk)
    except ValueError:
        return chunk[:500] or None
    return str(record.get('message') or record)[:500] if isinstance(record, dict) else str(record)[:500]


def app_message(exc: ClientError) -> str:
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
    lines = [line.strip() for line in str(detail or '').splitlines() if line.strip()]
    return redact(lines[-1] if lines else f'status {exc.status_code}')[:1000]
