"""What the annotate step tells the user: the plan, each task as it ends, and what was skipped."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from synapse_sdk.enums import LogLevel
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.models import TaskFailure, TaskOutcome, TaskProcessStatus

__all__ = ['STEP', 'dry_run_report', 'log_plan', 'record', 'skip_note']

STEP = 'annotate_task_data'


def log_plan(context: ToTaskContext) -> None:
    """``Batch mode: ...`` or ``Sequential mode: ...`` (to_task.md §7)."""
    ctx, total, batch = context.runtime_ctx, context.total_tasks, context.batch_size
    assert ctx is not None
    if batch > 1:
        windows = math.ceil(total / batch)
        ctx.log_message(f'Batch mode: {total} task(s) split into {windows} window(s) of up to {batch} task(s)', 'info')
    else:
        ctx.log_message(f'Sequential mode: {total} task(s)', 'info')


def record(context: ToTaskContext, outcome: TaskOutcome) -> None:
    """Count the outcome; progress, metrics and the ``annotate_task_data`` event (to_task.md §6)."""
    ctx, params = context.runtime_ctx, context.typed_params
    assert ctx is not None and params is not None
    if outcome.status is TaskProcessStatus.SUCCESS:
        context.success_count += 1
    elif outcome.status is TaskProcessStatus.SKIPPED:
        context.skipped_count += 1
    else:
        context.failed_count += 1
        context.failures.append(TaskFailure(task_id=outcome.task_id, error=outcome.error or 'unknown error'))
        ctx.log_message(f'[Task {outcome.task_id}] Failed: {outcome.error}', 'error')
    index = context.success_count + context.failed_count + context.skipped_count
    total = context.total_tasks
    ctx.set_progress(index, total, STEP)
    metrics = {'total': total, 'success': context.success_count, 'failed': context.failed_count}
    ctx.set_metrics({**metrics, 'stand_by': total - index}, STEP)
    event = {
        'task_info': {'task_id': outcome.task_id},
        'status': outcome.status.value,
        'method': params.method.value,
        'index': index,
        'total': total,
        'created': datetime.now(UTC).isoformat(),
        'error': outcome.error,
    }
    ctx.logger.log(LogLevel.DEBUG, STEP, event, step=STEP)


def skip_note(context: ToTaskContext) -> str | None:
    """How many tasks were skipped as already annotated, and how to redo them (None: none were)."""
    skipped = context.skipped_count
    if not skipped:
        return None
    note = (
        f'Skipped {skipped} task(s) that an earlier run of this job already annotated (they still hold what it '
        'wrote). To annotate them again, run with resume=false'
    )
    ledger = context.ledger
    if ledger is not None and ledger.state.failed:
        note += f'; to retry only the {len(ledger.state.failed)} task(s) that failed before, run with retry_failed=true'
    return note + '.'


def dry_run_report(context: ToTaskContext) -> list[tuple[str, str]]:
    """A dry run's summary table (objects per class) and the commands that review and commit it (with levels)."""
    run_id, params = context.run_id, context.typed_params
    if run_id is None or params is None:
        return []
    if not params.dry_run:
        return []  # a real run's undo hint comes before its completion line
    summary = context.summary or {}
    lines = [
        (
            f'Dry run {run_id}: {context.success_count} task(s) proposed, nothing written '
            f'({summary.get("added", 0)} objects added, {summary.get("removed", 0)} removed, '
            f'{summary.get("changed", 0)} changed)',
            'success',
        )
    ]
    classes = summary.get('classes') or {}
    if classes:
        width = max(5, *(len(str(label)) for label in classes))
        lines.append((f'{"class":<{width}}  {"added":>7} {"removed":>7} {"changed":>7} {"same":>7}', 'info'))
        for label, counts in classes.items():
            row = [counts.get(k, 0) for k in ('added', 'removed', 'changed', 'unchanged')]
            lines.append((f'{label:<{width}}  {row[0]:>7} {row[1]:>7} {row[2]:>7} {row[3]:>7}', 'info'))
    histogram = summary.get('confidence') or []
    if any(histogram):
        bars = ' '.join(f'{i / 10:.1f}:{n}' for i, n in enumerate(histogram) if n)
        lines.append((f'confidence (bin start: objects) {bars}; {summary.get("unscored", 0)} unscored', 'info'))
    lines.append((f'Review it: synapse review {run_id}   then: synapse review commit {run_id}', 'info'))
    return lines
