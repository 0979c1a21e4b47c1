"""The annotate step: plan, run the pipeline, record each outcome (progress, metrics, event) as it ends."""

from __future__ import annotations

import logging
import math
from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from synapse_sdk.enums import LogLevel
from synapse_sdk.plugins.actions.to_task._pipeline import TaskRunner, choose_http
from synapse_sdk.plugins.actions.to_task.ledger import Ledger
from synapse_sdk.plugins.actions.to_task.models import TaskProcessStatus
from synapse_sdk.plugins.actions.to_task.processing import TaskOutcome

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.context import ToTaskContext

STEP = 'annotate_task_data'
logger = logging.getLogger('synapse_sdk.plugins.to_task')


def annotate_all(context: ToTaskContext) -> None:
    """Process every task id of ``context``; at most ``width`` tasks are in flight, memory stays flat."""
    params, action, ctx = context.typed_params, context.action, context.runtime_ctx
    assert params is not None and action is not None and ctx is not None and context.task_ids is not None
    ids = context.task_ids
    total = len(ids)
    context.total_tasks = total
    if context.batch_size > 1:
        windows = math.ceil(total / context.batch_size)
        ctx.log_message(
            f'Batch mode: {total} task(s) split into {windows} window(s) of up to {context.batch_size} task(s)', 'info'
        )
    else:
        ctx.log_message(f'Sequential mode: {total} task(s)', 'info')
    width = _width(context, max(params.concurrency, context.batch_size))
    http = choose_http(context.client)
    if http[0] == 'client-no-aiohttp':
        ctx.log_message(
            f'aiohttp >= 3.10 is not installed: tasks use the slower threaded HTTP path ({INSTALL_HINT})', 'warning'
        )
    logger.debug('to_task HTTP path: %s, %d task(s) at a time', http[0], width)
    ledger = context.ledger or Ledger.for_key(action.job_key(context))
    context.ledger = ledger
    runner = TaskRunner(action, params, context.client, ledger, width, http)
    try:
        with closing(runner.outcomes(params.project, ids)) as outcomes:  # closing stops the pipeline
            for outcome in outcomes:
                _record(context, outcome)
    finally:
        ledger.close()


INSTALL_HINT = "pip install 'synapse-sdk[to-task]'"
FD_RESERVE = 64  #: open files kept free for everything else in the process


def _width(context: ToTaskContext, width: int) -> int:
    """``width``, or less when each task's two sockets would pass the open-files limit (``ulimit -n``)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return width
    if soft == resource.RLIM_INFINITY or width <= (soft - FD_RESERVE) // 2:
        return width
    allowed = max(1, (soft - FD_RESERVE) // 2)
    assert context.runtime_ctx is not None
    context.runtime_ctx.log_message(
        f'concurrency {width} needs more open files than the limit ({soft}) allows: running {allowed} at a time '
        '(raise it with ulimit -n)',
        'warning',
    )
    return allowed


def _record(context: ToTaskContext, outcome: TaskOutcome) -> None:
    ctx, params = context.runtime_ctx, context.typed_params
    assert ctx is not None and params is not None
    if outcome.status is TaskProcessStatus.SUCCESS:
        context.success_count += 1
    elif outcome.status is TaskProcessStatus.SKIPPED:
        context.skipped_count += 1
    else:
        context.failed_count += 1
        context.failures.append({'task_id': outcome.task_id, 'error': outcome.error})
        ctx.log_message(f'[Task {outcome.task_id}] Failed: {outcome.error}', 'error')
    index = context.success_count + context.failed_count + context.skipped_count
    total = context.total_tasks
    ctx.set_progress(index, total, STEP)
    ctx.set_metrics(
        {
            'total': total,
            'success': context.success_count,
            'failed': context.failed_count,
            'stand_by': total - index,
        },
        STEP,
    )
    ctx.logger.log(
        LogLevel.DEBUG,
        STEP,
        {
            'task_info': {'task_id': outcome.task_id},
            'status': outcome.status.value,
            'method': params.method.value,
            'index': index,
            'total': total,
            'created': datetime.now(UTC).isoformat(),
            'error': outcome.error,
        },
        step=STEP,
    )
