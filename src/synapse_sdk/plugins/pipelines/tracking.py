"""The caller's side of pipeline runs: progress from the worker's events, checkpoints to the backend.

:class:`PipelineRunner` is the base of the pipeline executors: ``submit`` prepares the run (resume
point, backend record) and hands the worker's event stream to :meth:`PipelineRunner._launch` of the
subclass; a thread of :class:`RunTracker` consumes it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from synapse_sdk.exceptions import ExecutionError, SynapseError, ValidationError
from synapse_sdk.plugins.pipelines.action_pipeline import ActionPipeline
from synapse_sdk.plugins.pipelines.checkpoint import BackendRunStore, resume_point
from synapse_sdk.plugins.pipelines.models import ActionState, Checkpoint, PipelineProgress, PipelineStatus
from synapse_sdk.utils.redact import redact

__all__ = ['PipelineRunner', 'RunTracker']

_log = logging.getLogger(__name__)
Events = Iterator[tuple[Any, ...]]


class RunTracker:
    """One run as the caller sees it: a progress snapshot updated from the worker's event batches."""

    def __init__(self, progress: PipelineProgress, store: BackendRunStore | None) -> None:
        self.progress = progress
        self.store = store
        self.changed = threading.Condition()
        self.version = 0
        self.result: Any = None
        self.exception: BaseException | None = None
        self.stop: Callable[[], None] | None = None
        self.on_end: Callable[[], None] | None = None
        self._ending = False  # an outcome is being recorded: later ones are ignored
        self._writes = threading.Lock()  #: backend writes, so none lands after the final one

    @property
    def run_id(self) -> str:
        return self.progress.run_id

    def snapshot(self) -> PipelineProgress:
        with self.changed:
            return self.progress.model_copy(deep=True)

    # ------------------------------------------------------------------ events
    def follow(self, items: Events) -> None:
        """Consume the worker's stream to its end (run on a thread of its own)."""
        try:
            for item in items:
                self._apply(item[1])
                if item[0] == 'done':
                    self._finish(*item[2])
                    return
            self._finish('error', ExecutionError('the pipeline worker ended without an outcome'), None)
        except BaseException as exc:  # after cancel() (the actor killed) this outcome is ignored
            self._finish('error', ExecutionError(f'the pipeline worker failed: {_first(exc)}'), None)
        finally:
            if self.on_end is not None:
                self.on_end()

    def _apply(self, events: Sequence[tuple[Any, ...]]) -> None:
        for event in events:
            if self._ending:  # cancelled: what the worker still sends is dropped
                return
            kind = event[0]
            if kind == 'checkpoint':
                _, index, name, params, result = event
                checkpoint = Checkpoint(action_index=index, action_name=name, params=params, result=result)
                self.save_checkpoint(checkpoint)
            with self.changed:
                progress = self.progress
                if kind == 'action':
                    progress.current_action = event[1]
                    progress.actions[event[1]].status = PipelineStatus.RUNNING
                elif kind == 'checkpoint':
                    state = progress.actions[event[1]]
                    state.status, state.progress = PipelineStatus.COMPLETED, 100.0
                elif kind == 'progress' and progress.current_action is not None:
                    _, _step, current, total = event
                    if total:
                        progress.actions[progress.current_action].progress = round(100.0 * current / total, 2)
                elif kind == 'overall' and progress.current_action is not None:
                    progress.actions[progress.current_action].progress = float(event[1])
                else:
                    continue
                progress.recompute()
                self.version += 1
                self.changed.notify_all()
            if kind in ('action', 'checkpoint'):
                self.record(self.snapshot())

    def _finish(self, outcome: str, value: Any, failed_index: int | None) -> None:
        """Record the outcome in the backend first, then publish it (a waiter then sees both)."""
        with self.changed:
            if self.progress.status.finished or self._ending:
                return
            self._ending = True
            final = self.progress.model_copy(deep=True)
        result, exception = None, None
        if outcome == 'ok':
            final.status, result = PipelineStatus.COMPLETED, value
            final.result, final.current_action = _jsonable(value), None
        else:
            exception = value if isinstance(value, BaseException) else ExecutionError(str(value))
            final.status, final.error = PipelineStatus.FAILED, redact(str(exception))
            if failed_index is not None and failed_index < len(final.actions):
                state = final.actions[failed_index]
                state.status, state.error = PipelineStatus.FAILED, final.error
        final.recompute()
        self.record(final, final=True)
        self._publish(final, result, exception)

    def _publish(self, final: PipelineProgress, result: Any, exception: BaseException | None) -> None:
        with self.changed:
            self.progress, self.result, self.exception = final, result, exception
            self.version += 1
            self.changed.notify_all()

    def cancel(self) -> bool:
        with self.changed:
            if self.progress.status.finished or self._ending:
                return False
            self._ending = True
            final = self.progress.model_copy(deep=True)
        if self.stop is not None:
            self.stop()
        final.status, final.error = PipelineStatus.CANCELLED, 'cancelled'
        self.record(final, final=True)
        self._publish(final, None, ExecutionError(f'Pipeline run {self.run_id} was cancelled'))
        return True

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a checkpoint in the backend (if any), unless the run has ended meanwhile."""
        if self.store is not None:
            with self._writes:
                if not self._ending:
                    self._guarded(self.store.save_checkpoint, checkpoint)

    def record(self, progress: PipelineProgress, *, final: bool = False) -> None:
        """Store the run's status and progress in the backend (if any).

        Once the run is ending only its ``final`` record is written: an update the worker sent before a
        cancel never overwrites the cancelled status.
        """
        if self.store is not None:
            with self._writes:
                if final or not self._ending:
                    self._guarded(self.store.update, progress)

    def _guarded(self, write: Callable[[str, Any], None], value: Any) -> None:
        try:
            write(self.run_id, value)
        except Exception as exc:  # the run goes on; its record in the backend lags
            _log.warning('Recording pipeline run %s in the backend failed: %s', self.run_id, _first(exc))

    # ------------------------------------------------------------------ waiting
    def wait(self, timeout: float | None = None) -> PipelineProgress:
        with self.changed:
            if not self.changed.wait_for(lambda: self.progress.status.finished, timeout):
                raise TimeoutError(f'Pipeline run {self.run_id} did not end within {timeout} s')
        return self.snapshot()

    def stream(self, poll: float = 0.5) -> Iterator[PipelineProgress]:
        """A snapshot at every change, the last one final."""
        seen = -1
        while True:
            with self.changed:
                self.changed.wait_for(lambda last=seen: self.version != last, poll)  # type: ignore[misc]
                seen = self.version
                snapshot = self.progress.model_copy(deep=True)
            yield snapshot
            if snapshot.status.finished:
                return


class PipelineRunner:
    """Shared by the pipeline executors: runs by id, progress, results, cancellation, resume."""

    def __init__(self, client: Any = None) -> None:
        self.client = client
        self._runs: dict[str, RunTracker] = {}

    # subclasses: start the worker over (actions, params, start, last_result); return its events
    def _launch(
        self, tracker: RunTracker, actions: list[Any], params: dict[str, Any], start: int, last_result: Any
    ) -> Events:
        raise NotImplementedError

    def _store(self) -> BackendRunStore | None:
        return BackendRunStore(self.client) if self.client is not None else None

    def submit(
        self,
        pipeline_or_actions: ActionPipeline | Sequence[Any],
        params: Mapping[str, Any],
        *,
        name: str | None = None,
        resume_from: str | int | None = None,
    ) -> str:
        """Start a run; its id (the backend's ``pipeline_runs/`` id when a backend client is configured)."""
        pipeline = (
            pipeline_or_actions
            if isinstance(pipeline_or_actions, ActionPipeline)
            else ActionPipeline(list(pipeline_or_actions), validate_schemas=False)
        )
        names = pipeline.action_names
        store = self._store()
        restored: list[Checkpoint] = []
        start, running, last_result = 0, dict(params), None
        if resume_from is not None:
            if store is None:
                raise ValidationError(
                    'resume_from needs the backend that keeps the checkpoints: pass client= to the executor',
                    {'field': 'resume_from'},
                )
            try:
                checkpoints = store.checkpoints(str(resume_from))
            except SynapseError as exc:
                raise ValidationError(
                    f'resume_from: pipeline run {resume_from} cannot be read from the backend: {exc}',
                    {'field': 'resume_from'},
                ) from exc
            point = resume_point(names, checkpoints, params)
            start, running, last_result = point.start, point.params, point.last_result
            restored = [c for c in checkpoints if c.action_index < start]
        progress = PipelineProgress(
            run_id='',
            name=name,
            status=PipelineStatus.RUNNING,
            actions=[ActionState(name=n) for n in names],
            resumed_from=None if resume_from is None else str(resume_from),
        )
        for index in range(start):
            progress.actions[index] = ActionState(
                name=names[index], status=PipelineStatus.COMPLETED, progress=100.0, restored=True
            )
        progress.recompute()
        progress.run_id = store.create(progress, params, progress.resumed_from) if store else uuid.uuid4().hex
        tracker = RunTracker(progress, store)
        for checkpoint in restored:  # the new run holds every checkpoint it stands on
            tracker.save_checkpoint(checkpoint)
        self._runs[progress.run_id] = tracker
        try:
            events = self._launch(tracker, pipeline.actions, running, start, last_result)
        except BaseException as exc:
            tracker._finish('error', exc, None)
            raise
        threading.Thread(target=tracker.follow, args=(events,), name='synapse-pipeline-follow', daemon=True).start()
        return progress.run_id

    def _tracker(self, run_id: str) -> RunTracker:
        tracker = self._runs.get(str(run_id))
        if tracker is None:
            raise ValidationError(
                f'Unknown pipeline run {run_id!r}: it was not submitted through this executor '
                '(list recorded runs with `synapse pipeline list`)',
                {'field': 'run_id'},
            )
        return tracker

    def get_status(self, run_id: str) -> PipelineStatus:
        return self._tracker(run_id).snapshot().status

    def get_progress(self, run_id: str) -> PipelineProgress:
        return self._tracker(run_id).snapshot()

    def wait(self, run_id: str, timeout: float | None = None) -> PipelineProgress:
        """The final snapshot once the run ended (TimeoutError after ``timeout`` seconds)."""
        return self._tracker(run_id).wait(timeout)

    def get_result(self, run_id: str, timeout: float | None = None) -> Any:
        """The last action's result; the run's error is raised when it failed or was cancelled."""
        tracker = self._tracker(run_id)
        final = tracker.wait(timeout)
        if final.status != PipelineStatus.COMPLETED:
            assert tracker.exception is not None
            raise tracker.exception
        return tracker.result

    def stream_progress(self, run_id: str) -> Iterator[PipelineProgress]:
        return self._tracker(run_id).stream()

    async def stream_progress_async(self, run_id: str) -> AsyncIterator[PipelineProgress]:
        tracker = self._tracker(run_id)
        seen = -1
        while True:
            version, snapshot = await asyncio.to_thread(_next_change, tracker, seen)
            seen = version
            yield snapshot
            if snapshot.status.finished:
                return

    def cancel(self, run_id: str) -> bool:
        """Stop the run (its worker is killed); False when it had already ended."""
        return self._tracker(run_id).cancel()


def _next_change(tracker: RunTracker, seen: int) -> tuple[int, PipelineProgress]:
    with tracker.changed:
        tracker.changed.wait_for(lambda: tracker.version != seen, 0.5)
        return tracker.version, tracker.progress.model_copy(deep=True)


def _jsonable(value: Any) -> Any:
    from synapse_sdk.plugins.pipelines.checkpoint import jsonable

    return jsonable(value)


def _first(exc: BaseException) -> str:
    return (redact(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
