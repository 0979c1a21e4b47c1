"""Commit a reviewed dry run; undo a run. Both write through ToTask's own pipeline and write path.

- :func:`commit_run` writes the proposals of a dry run's record (the approved ones, or every one not
  rejected) with the same concurrent, ledger-protected PUT a normal run uses (a write whose answer
  was lost is read back before it is repeated; a re-run after a crash skips what was written).
  A task whose data changed since the dry run read it is a **conflict**: reported, never overwritten.
- :func:`undo_run` puts back, for each task the run (or a commit of it) wrote, the data it held
  before, when the task still holds exactly what the run wrote (hash compare); otherwise a conflict.

Before each write the task's prior data is recorded (:meth:`RunRecord.before_write`), so a commit
can be undone too.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, cast

from pydantic import BaseModel, Field

from synapse_sdk.exceptions import SynapseError
from synapse_sdk.plugins.actions.to_task.io import GetTask, Op, TaskHooks
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, data_hash
from synapse_sdk.plugins.actions.to_task.models import TaskFailure, TaskOutcome, TaskProcessStatus, ToTaskMethod
from synapse_sdk.plugins.actions.to_task.pipeline import TaskRunner
from synapse_sdk.plugins.actions.to_task.record import RunMeta, RunRecord, TaskEntry
from synapse_sdk.plugins.actions.to_task.task import DATA_FIELDS, FlowSettings, TaskFlow

__all__ = ['CommitReport', 'Conflict', 'RunMismatchError', 'UndoReport', 'commit_run', 'undo_run']

Progress = Callable[[int, int], None]
DEFAULT_WIDTH = 16


class RunMismatchError(SynapseError):
    """The run cannot be committed or undone with this client (another backend, or nothing to do)."""


class Conflict(BaseModel):
    task_id: int
    reason: str


class CommitReport(BaseModel):
    """What a commit did."""

    run_id: str
    selected: int = 0  #: proposals chosen (approved, or not rejected)
    written: int = 0
    already: int = 0  #: held the proposal already (an earlier, interrupted commit wrote it)
    conflicts: list[Conflict] = Field(default_factory=list)
    failed: list[TaskFailure] = Field(default_factory=list)


class UndoReport(BaseModel):
    """What an undo did."""

    run_id: str
    selected: int = 0  #: tasks the run wrote and has not undone
    restored: int = 0
    already: int = 0  #: held their prior data already
    conflicts: list[Conflict] = Field(default_factory=list)
    failed: list[TaskFailure] = Field(default_factory=list)


class _RecordFlow(TaskFlow):
    """Common part: one task's entry, its data read (prefetched in listings), a conflict is an outcome."""

    mode = ''

    def __init__(self, record: RunRecord, meta: RunMeta, entries: dict[int, TaskEntry], ledger: Ledger) -> None:
        settings = FlowSettings(method=ToTaskMethod(meta.method), agent=0, schema=meta.schema_name)
        super().__init__(settings, cast(TaskHooks, None), ledger, record=record)
        self.entries = entries
        self.conflicts: dict[int, str] = {}
        self.already: set[int] = set()

    def prefetch(self, project: int, task_ids: list[int]) -> Generator[Op, Any, dict[int, dict[str, Any]]]:
        return (yield from self._data_rows(project, task_ids))

    def _data_rows(self, project: int, task_ids: list[int]) -> Generator[Op, Any, dict[int, dict[str, Any]]]:
        from synapse_sdk.plugins.actions.to_task.io import ListTasks

        if not task_ids:
            return {}
        query = {'project': project, 'id__in': task_ids, 'fields': DATA_FIELDS, 'page_size': len(task_ids)}
        try:
            reply = yield ListTasks(query)
        except Exception:
            return {}
        items = reply.get('results') if isinstance(reply, dict) else reply
        return {
            row['id']: row
            for row in (items if isinstance(items, list) else ())
            if isinstance(row, dict) and row.get('id') in task_ids and 'data' in row
        }

    def process(self, task_id: int, row: dict[str, Any] | None = None) -> Generator[Op, Any, TaskOutcome]:
        try:
            if row is None:
                row = yield GetTask(task_id, {'fields': DATA_FIELDS})
            if not isinstance(row, dict):
                raise SynapseError('Invalid task response')
            return (yield from self._one(task_id, self.entries[task_id], row.get('data')))
        except Exception as exc:
            from synapse_sdk.plugins.actions.to_task.files import error_text

            return TaskOutcome(task_id, TaskProcessStatus.FAILED, error_text(exc))

    def _one(self, task_id: int, entry: TaskEntry, data: Any) -> Generator[Op, Any, TaskOutcome]:
        raise NotImplementedError

    def _conflict(self, task_id: int, reason: str) -> TaskOutcome:
        assert self.record is not None
        self.record.conflict(task_id, reason)
        self.conflicts[task_id] = reason
        return TaskOutcome(task_id, TaskProcessStatus.SKIPPED, reason)

    def _put(self, task_id: int, prior: Any, new: Any) -> Generator[Op, Any, TaskOutcome]:
        assert self.record is not None and self.ledger is not None
        digest = data_hash(new)
        self.ledger.intent(task_id, digest)
        self.record.before_write(task_id, prior, new)
        yield from self._write(task_id, new, digest)
        self.ledger.done(task_id, digest)
        return TaskOutcome(task_id, TaskProcessStatus.SUCCESS)


class _CommitFlow(_RecordFlow):
    def _one(self, task_id: int, entry: TaskEntry, data: Any) -> Generator[Op, Any, TaskOutcome]:
        assert self.record is not None
        held = data_hash(data)
        if held == entry.proposed_hash:
            self.record.written(task_id, held)
            self.already.add(task_id)
            return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
        if held != entry.current_hash:
            return self._conflict(task_id, 'the task changed since the dry run read it; not overwritten')
        outcome = yield from self._put(task_id, data, entry.proposed)
        self.record.written(task_id, data_hash(entry.proposed))
        return outcome


class _UndoFlow(_RecordFlow):
    def _one(self, task_id: int, entry: TaskEntry, data: Any) -> Generator[Op, Any, TaskOutcome]:
        assert self.record is not None
        held = data_hash(data)
        prior = entry.prior if entry.prior is not None else {}
        if held == data_hash(prior):
            self.record.undone(task_id)
            self.already.add(task_id)
            return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
        if held != entry.written_hash:
            return self._conflict(task_id, 'the task changed since this run wrote it; not restored')
        assert self.ledger is not None
        digest = data_hash(prior)
        self.ledger.intent(task_id, digest)
        yield from self._write(task_id, prior, digest)
        self.ledger.done(task_id, digest)
        self.record.undone(task_id)
        return TaskOutcome(task_id, TaskProcessStatus.SUCCESS)


def _check_backend(meta: RunMeta, client: Any) -> None:
    from synapse_sdk.plugins.actions.to_task.steps import backend_identity

    here = backend_identity(client)
    if meta.backend and here != meta.backend:
        raise RunMismatchError(
            f'Run {meta.run_id} was made against {meta.backend_url or meta.backend}, not the backend this client '
            f'points at ({getattr(client, "base_url", here)}); point the client at that backend (synapse login)'
        )


def _drive(
    flow: _RecordFlow, client: Any, project: int, ids: list[int], width: int, progress: Progress | None
) -> list[TaskOutcome]:
    outcomes = []
    runner = TaskRunner(flow, client, max(1, min(width, len(ids) or 1)))
    stream = runner.outcomes(project, ids)
    try:
        for outcome in stream:
            outcomes.append(outcome)
            if progress is not None:
                progress(len(outcomes), len(ids))
    finally:
        stream.close()
    return outcomes


def _ledger(meta: RunMeta, what: str) -> Ledger:
    return Ledger.for_key(data_hash(['review', what, meta.backend, meta.run_id]))


def commit_run(
    record: RunRecord,
    client: Any,
    *,
    approved_only: bool = True,
    on_progress: Progress | None = None,
    width: int = DEFAULT_WIDTH,
) -> CommitReport:
    """Write the dry run's approved proposals (``approved_only=False``: every proposal not rejected)."""
    meta = record.meta()
    if not meta.dry_run:
        raise RunMismatchError(f'Run {meta.run_id} was not a dry run: its tasks are written already (undo it instead)')
    _check_backend(meta, client)
    chosen = [
        e
        for e in record.entries()
        if e.proposed_hash is not None
        and (e.decision == 'approved' if approved_only else e.decision != 'rejected')
        and not (e.written_hash is not None and e.undone_at is None)
    ]
    report = CommitReport(run_id=meta.run_id, selected=len(chosen))
    if chosen:
        report.written = _run(_CommitFlow, record, meta, chosen, 'commit', client, width, on_progress, report)
    return report


def undo_run(
    record: RunRecord, client: Any, *, on_progress: Progress | None = None, width: int = DEFAULT_WIDTH
) -> UndoReport:
    """Restore the prior data of every task this run wrote that nobody changed since."""
    meta = record.meta()
    _check_backend(meta, client)
    chosen = list(record.entries(written=True))
    report = UndoReport(run_id=meta.run_id, selected=len(chosen))
    if chosen:
        what = f'undo-{_undo_round(chosen)}'
        report.restored = _run(_UndoFlow, record, meta, chosen, what, client, width, on_progress, report)
    return report


def _run(
    kind: type[_RecordFlow],
    record: RunRecord,
    meta: RunMeta,
    chosen: list[TaskEntry],
    what: str,
    client: Any,
    width: int,
    progress: Progress | None,
    report: CommitReport | UndoReport,
) -> int:
    """Write the chosen tasks through a flow of ``kind`` (its own resume ledger); the count written."""
    ledger = _ledger(meta, what)
    try:
        flow = kind(record, meta, {e.task_id: e for e in chosen}, ledger)
        outcomes = _drive(flow, client, meta.project, [e.task_id for e in chosen], width, progress)
    finally:
        ledger.close()
    _fill(report, flow, outcomes)
    return sum(o.status is TaskProcessStatus.SUCCESS for o in outcomes)


def _undo_round(entries: list[TaskEntry]) -> str:
    """Which writes an undo takes back (a commit after an undo is undone by a ledger of its own)."""
    return data_hash(sorted((e.task_id, e.written_hash or '', e.written_at or '') for e in entries))[:16]


def _fill(report: CommitReport | UndoReport, flow: _RecordFlow, outcomes: list[TaskOutcome]) -> None:
    report.already = len(flow.already)
    report.conflicts = [Conflict(task_id=t, reason=r) for t, r in sorted(flow.conflicts.items())]
    report.failed = [
        TaskFailure(task_id=o.task_id, error=o.error or 'unknown error')
        for o in outcomes
        if o.status is TaskProcessStatus.FAILED
    ]
