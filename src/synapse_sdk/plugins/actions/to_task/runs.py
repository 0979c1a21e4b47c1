"""The run record of a ToTask run: which tasks (a sample), opening it, and closing it with the counts.

See :mod:`.record` for what a record holds; :mod:`.commit` commits and undoes what it recorded.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.record import RunMeta, RunRecord, new_run_id
from synapse_sdk.plugins.actions.to_task.summary import merge_summaries

__all__ = ['close_record', 'open_record', 'sample_ids']


def sample_ids(ids: list[int], sample: int | None, seed: int | None) -> list[int]:
    """The first ``sample`` ids, or (``seed`` given) a reproducible random ``sample`` of them, in listing order."""
    if sample is None or sample >= len(ids):
        return ids
    if seed is None:
        return ids[:sample]
    chosen = set(random.Random(seed).sample(range(len(ids)), sample))
    return [task_id for i, task_id in enumerate(ids) if i in chosen]


def open_record(context: ToTaskContext) -> RunRecord | None:
    """The run's record: always for a dry run; for a real run unless ``record_run`` is off."""
    params, client = context.typed_params, context.client
    assert params is not None and client is not None
    if not (params.dry_run or params.record_run):
        return None
    meta = RunMeta(
        run_id=new_run_id(),
        created_at=datetime.now(UTC).isoformat(timespec='seconds'),
        dry_run=params.dry_run,
        project=params.project,
        method=params.method.value,
        schema_name='any' if params.schema_name == 'any' else None,
        job_name=params.name,
        backend=context.backend or '',  # set by the annotate step (the backend's identity)
        backend_url=str(getattr(client, 'base_url', '')),
        sample=params.sample,
        sample_seed=params.sample_seed,
    )
    run = RunRecord.create(meta)
    context.record, context.run_id = run, meta.run_id
    return run


def close_record(context: ToTaskContext, run: RunRecord) -> None:
    failed_all = context.total_tasks > 0 and context.failed_count == context.total_tasks
    counts = {
        'tasks': context.total_tasks,
        'success': context.success_count,
        'failed': context.failed_count,
        'skipped': context.skipped_count,
    }
    run.finish('failed' if failed_all else 'finished', counts)
    if run.meta().dry_run:
        context.summary = merge_summaries(e.summary for e in run.entries())
    run.close()
