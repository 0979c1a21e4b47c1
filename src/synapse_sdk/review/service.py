"""What the review page does, without the web framework: read a run, record decisions, commit, serve images.

Each call opens the run's record and closes it again (SQLite in WAL mode: a run still writing it, or
``synapse review commit`` in another shell, is seen as it goes). The backend client comes from the
``client_factory`` given, made on first use and kept until :meth:`ReviewService.close`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import SynapseError
from synapse_sdk.plugins.actions.to_task.record import RunRecord, TaskEntry, list_runs, open_run
from synapse_sdk.review.geometry import class_colours, object_views
from synapse_sdk.review.images import cached_image
from synapse_sdk.review.models import (
    CommitReply,
    CommitRequest,
    Counts,
    DecisionReply,
    DecisionRequest,
    RunView,
    TasksPage,
    TaskView,
)

__all__ = ['DEFAULT_PAGE_SIZE', 'MAX_PAGE_SIZE', 'CommitRunningError', 'ReviewService', 'UnknownTasksError']

DEFAULT_PAGE_SIZE = 60
MAX_PAGE_SIZE = 500


class UnknownTasksError(SynapseError):
    """A decision named tasks that are not part of the run."""


class CommitRunningError(SynapseError):
    """A commit of this run is already running (from this page)."""


def _run_view(record: RunRecord) -> RunView:
    meta = record.meta()
    return RunView(
        run_id=meta.run_id,
        created_at=meta.created_at,
        dry_run=meta.dry_run,
        project=meta.project,
        method=meta.method,
        job_name=meta.job_name,
        status=meta.status,
        sample=meta.sample,
    )


def _task_view(entry: TaskEntry) -> TaskView:
    image = entry.image or {}
    return TaskView(
        task_id=entry.task_id,
        position=entry.position,
        decision=entry.decision,
        image_name=image.get('name'),
        image_url=f'image/{entry.task_id}' if image else None,
        proposed=object_views(entry.proposed),
        current=object_views(entry.current),
        summary=entry.summary,
        written=entry.written_hash is not None and entry.undone_at is None,
        undone=entry.undone_at is not None,
        conflict=entry.conflict,
    )


def _labels(entries: list[TaskEntry]) -> Iterator[str]:
    for entry in entries:
        yield from (o.label for o in object_views(entry.proposed))
        yield from (o.label for o in object_views(entry.current))


class ReviewService:
    """The review of the runs under ``SYNAPSE_STATE_DIR``, over one backend client."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()
        self._commits: dict[str, tuple[int, int]] = {}  #: run id -> (done, total) of a commit now running

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None and hasattr(client, 'close'):
            client.close()

    @contextmanager
    def record(self, run_id: str) -> Iterator[RunRecord]:
        record = open_run(run_id)
        try:
            yield record
        finally:
            record.close()

    # ------------------------------------------------------------------ reading
    def runs(self) -> list[RunView]:
        views = []
        for meta in list_runs():
            views.append(RunView.model_validate(meta.model_dump(include=set(RunView.model_fields))))
        return views

    def counts(self, run_id: str) -> Counts:
        with self.record(run_id) as record:
            return self._counts(record)

    def _counts(self, record: RunRecord) -> Counts:
        with self._lock:
            committing = self._commits.get(record.run_id)
        return Counts(**record.counts(), committing=committing)

    def run(self, run_id: str) -> RunView:
        with self.record(run_id) as record:
            return _run_view(record)

    def tasks(self, run_id: str, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE) -> TasksPage:
        """One page of the run's tasks (in the order the run met them) and the colours of all its classes."""
        with self.record(run_id) as record:
            entries = list(record.entries())
            return TasksPage(
                run=_run_view(record),
                counts=self._counts(record),
                classes=class_colours(_labels(entries)),
                total=len(entries),
                offset=offset,
                limit=limit,
                tasks=[_task_view(e) for e in entries[offset : offset + limit]],
            )

    def image(self, run_id: str, task_id: int) -> tuple[Path, str]:
        with self.record(run_id) as record:
            return cached_image(record, self.client(), task_id)

    # ------------------------------------------------------------------ changing
    def decide(self, run_id: str, request: DecisionRequest) -> DecisionReply:
        with self.record(run_id) as record:
            ids = sorted(set(request.task_ids))
            unknown = [t for t in ids if record.entry(t) is None]
            if unknown:
                shown = ', '.join(str(t) for t in unknown[:10]) + (' ...' if len(unknown) > 10 else '')
                raise UnknownTasksError(
                    f'task_ids: {len(unknown)} of them are not tasks of run {record.run_id} ({shown}); '
                    'send only ids that GET api/tasks lists'
                )
            changed = record.decide(ids, request.decision)
            return DecisionReply(changed=changed, counts=self._counts(record))

    def commit(self, run_id: str, request: CommitRequest) -> CommitReply:
        """Write the approved tasks (or every task not rejected) with the commit of the run record."""
        from synapse_sdk.plugins.actions.to_task.commit import commit_run

        with self.record(run_id) as record:
            key = record.run_id
            with self._lock:
                if key in self._commits:
                    raise CommitRunningError(f'A commit of run {key} is already running; wait for its report')
                self._commits[key] = (0, 0)

            def progress(done: int, total: int) -> None:
                with self._lock:
                    self._commits[key] = (done, total)

            try:
                report = commit_run(record, self.client(), approved_only=request.approved_only, on_progress=progress)
            finally:
                with self._lock:
                    self._commits.pop(key, None)
            return CommitReply(report=report.model_dump(mode='json'), counts=self._counts(record))
