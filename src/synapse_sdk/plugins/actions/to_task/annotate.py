"""The annotate step's pipeline: a bounded pool of workers, results recorded in completion order."""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from synapse_sdk.enums import LogLevel
from synapse_sdk.plugins.actions.to_task.ledger import Ledger
from synapse_sdk.plugins.actions.to_task.models import TaskProcessStatus
from synapse_sdk.plugins.actions.to_task.processing import TaskOutcome, TaskProcessor

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.context import ToTaskContext

STEP = 'annotate_task_data'


def annotate_all(context: ToTaskContext) -> None:
    """Process every task id of ``context``; at most ``width`` tasks are in flight, memory stays flat."""
    params, action, ctx = context.typed_params, context.action, context.runtime_ctx
    assert params is not None and action is not None and ctx is not None and context.task_ids is not None
    ids = context.task_ids
    total = len(ids)
    context.total_tasks = total
    width = max(params.concurrency, context.batch_size)
    if context.batch_size > 1:
        windows = math.ceil(total / context.batch_size)
        ctx.log_message(
            f'Batch mode: {total} task(s) split into {windows} window(s) of up to {context.batch_size} task(s)', 'info'
        )
    else:
        ctx.log_message(f'Sequential mode: {total} task(s)', 'info')
    ledger = context.ledger or Ledger.for_key(action.job_key(context))
    context.ledger = ledger
    processor = TaskProcessor(action, params, context.client, ledger)
    try:
        _run_pool(context, processor, ids, width)
    finally:
        ledger.close()


PREFETCH_CHUNK = 100  #: task details read per listing call


def _run_pool(context: ToTaskContext, processor: TaskProcessor, ids: list[int], width: int) -> None:
    """Keep twice ``width`` tasks queued; details are read ahead in chunks, results recorded as they end."""
    assert context.typed_params is not None
    project = context.typed_params.project
    chunks = (ids[i : i + PREFETCH_CHUNK] for i in range(0, len(ids), PREFETCH_CHUNK))
    ready: deque[tuple[int, dict[str, Any] | None]] = deque()
    pending: set[Future[TaskOutcome]] = set()
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix='to_task') as pool:

        def fill() -> None:
            while len(pending) < width * 2:
                if not ready:
                    chunk = next(chunks, None)
                    if chunk is None:
                        return
                    details = processor.prefetch(project, chunk)
                    ready.extend((task_id, details.get(task_id)) for task_id in chunk)
                task_id, task = ready.popleft()
                pending.add(pool.submit(processor.process, task_id, task))

        fill()
        while pending:
            finished, still = wait(pending, return_when=FIRST_COMPLETED)
            pending.clear()
            pending.update(still)
            for future in finished:
                _record(context, future.result())
            fill()


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
