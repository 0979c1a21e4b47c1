"""One task, top-down: read it, find its files, get its data (file or inference), write it, once.

:class:`TaskFlow` is written as generators of :mod:`.io` operations and does no I/O of its own, so
it reads as the sequence of calls it makes and is tested without a network (drive it by hand).
Every outcome is honest: a task is ``success`` only once its data is on the backend (a write whose
answer was lost is read back before anything else is decided), ``failed`` only when it is not, and
``skipped`` only when an earlier run of the same job wrote it and it still holds that data.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from synapse_sdk.exceptions import (
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    RateLimitError,
    ServerError,
)
from synapse_sdk.plugins.actions.to_task.errors import TaskFailed
from synapse_sdk.plugins.actions.to_task.files import (
    download_failure,
    error_text,
    file_name,
    find_spec_file,
    normalise_files,
    parse_annotation,
    url_name,
)
from synapse_sdk.plugins.actions.to_task.io import (
    Annotate,
    CallHook,
    Download,
    GetDataUnit,
    GetTask,
    ListTasks,
    Op,
    RunPlugin,
    Sleep,
    TaskHooks,
)
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, LedgerState, data_hash
from synapse_sdk.plugins.actions.to_task.models import (
    MIB,
    InferenceTarget,
    TaskOutcome,
    TaskProcessStatus,
    ToTaskMethod,
)
from synapse_sdk.plugins.actions.to_task.record import RunRecord
from synapse_sdk.plugins.actions.to_task.summary import summarize
from synapse_sdk.utils.redact import sanitize_urls

__all__ = ['FlowSettings', 'TaskFlow', 'TaskSteps']

logger = logging.getLogger('synapse_sdk.plugins.to_task')

TASK_FIELDS = 'id,data,data_unit'
DATA_FIELDS = 'id,data'
READ_BACKS = 3  #: reads of a task whose write went unanswered, before its outcome is called unknown
WRITE_PAUSE = 0.2  #: seconds; the cap of the jittered pause before a write's n-th repeat is this x 2**(n-1)
PARSE_INLINE_BYTES = 1 * MIB  #: larger annotation files are parsed on a worker thread, off the event loop
DEFERRED_CAP_SECONDS = 1800.0
DEFERRED_FIRST_DELAY = 2.0  #: seconds; grows by half each poll, up to DEFERRED_MAX_DELAY
DEFERRED_MAX_DELAY = 10.0
EMPTY_INFERENCE = 'Inference failed: pre-processor returned an empty or failed response — task update skipped'

TaskSteps = Generator[Op, Any, TaskOutcome]


@dataclass(frozen=True)
class FlowSettings:
    """What the flow needs of the run's params (read once)."""

    method: ToTaskMethod
    agent: int
    spec: str | None = None  #: the annotation file's specification (file method)
    schema: str | None = None  #: ``any`` or None
    model: int | None = None
    pre_processor_params: Mapping[str, Any] = field(default_factory=dict)
    language: str | None = None
    resume: bool = True
    write_retries: int = 2  #: repeats of a write that, read back, did not take effect
    max_annotation_bytes: int = 64 * MIB
    #: hooks the plugin did not override: run inline instead of on a worker thread (the built-in
    #: ``convert_data_from_file`` then downloads on the loop)
    inline_hooks: frozenset[str] = frozenset()
    dry_run: bool = False  #: propose (into the run record) instead of writing


def _settled_by_server(exc: ClientError) -> bool:
    """Whether a failed write surely did not take effect: the backend refused it (4xx but 408 and 429)."""
    if isinstance(exc, ServerError | RateLimitError | ClientTimeoutError | ClientConnectionError):
        return False
    return 400 <= exc.status_code < 500


# --------------------------------------------------------------------------- the flow
class TaskFlow:
    """The work of one task as a generator of I/O operations (it holds no per-task state)."""

    def __init__(
        self,
        settings: FlowSettings,
        hooks: TaskHooks,
        ledger: Ledger | None = None,
        inference: InferenceTarget | None = None,
        record: RunRecord | None = None,
    ) -> None:
        self.settings = settings
        self.hooks = hooks
        self.ledger = ledger
        self.inference = inference
        self.record = record  #: a dry run's proposals; a real run's prior data of each task it writes (undo)
        self.state = ledger.state if ledger is not None and settings.resume else LedgerState()

    # ------------------------------------------------------------------ read ahead
    def prefetch(self, project: int, task_ids: list[int]) -> Generator[Op, Any, dict[int, dict[str, Any]]]:
        """Details of many tasks in one listing each (``id__in``); ``{}`` when the backend cannot answer so.

        Tasks to annotate come with their data unit; tasks an earlier run wrote only with their data (to
        check it is still what was written). A task missing from the answers is read on its own later.
        """
        todo = [t for t in task_ids if t not in self.state.done]
        done = [t for t in task_ids if t in self.state.done]
        rows: dict[int, dict[str, Any]] = {}
        for wanted, fields, expand in ((todo, TASK_FIELDS, True), (done, DATA_FIELDS, False)):
            if not wanted:
                continue
            query: dict[str, Any] = {'project': project, 'id__in': wanted, 'fields': fields, 'page_size': len(wanted)}
            if expand:
                query['expand'] = 'data_unit'
            try:
                reply = yield ListTasks(query)
            except Exception:  # the per-task reads still work
                continue
            items = reply.get('results') if isinstance(reply, dict) else reply
            for row in items if isinstance(items, list) else ():
                if isinstance(row, dict) and row.get('id') in wanted and 'data' in row:
                    if not expand or isinstance(row.get('data_unit'), dict):
                        rows[row['id']] = row
        return rows

    # ------------------------------------------------------------------ one task
    def process(self, task_id: int, row: dict[str, Any] | None = None) -> TaskSteps:
        """Annotate ``task_id`` (``row``: its details when already read); never raises a task-level error."""
        try:
            return (yield from self._process(task_id, row))
        except Exception as exc:  # a task-level error never stops the job
            error = error_text(exc)
            if self.ledger is not None:
                self.ledger.failed(task_id, error)
            if self.record is not None:
                self.record.failed(task_id, error)
            return TaskOutcome(task_id, TaskProcessStatus.FAILED, error)

    def _process(self, task_id: int, row: dict[str, Any] | None) -> TaskSteps:
        written = self.state.done.get(task_id)
        if written is not None:
            if row is None or 'data' not in row:
                row = yield GetTask(task_id, {'fields': DATA_FIELDS})
            if isinstance(row, dict) and data_hash(row.get('data')) == written:
                return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
            logger.info('Task %d changed since an earlier run wrote it: annotating it again', task_id)
        if row is None or not isinstance(row.get('data_unit'), dict):
            row = yield GetTask(task_id, {'fields': TASK_FIELDS, 'expand': 'data_unit'})
        if not isinstance(row, dict):
            raise TaskFailed('Invalid task response')
        task = row
        pending = self.state.intents.get(task_id)
        if pending is not None and data_hash(task.get('data')) == pending:
            self._record_done(task_id, pending)  # an earlier run wrote this data but died before recording it
            return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
        files = yield from self._files(task)
        primary = next((f for f in files if f.get('is_primary') and f.get('url')), None)
        if primary is None:
            raise TaskFailed('Primary file URL not found for task')
        if self.settings.method is ToTaskMethod.FILE:
            data = yield from self._from_file(task, files, primary)
        else:
            data = yield from self._from_inference(task, files, primary)
        if not isinstance(data, dict):
            raise TaskFailed(f'Conversion returned {type(data).__name__}; task data must be an object')
        return (yield from self._deliver(task_id, task, primary, data))

    def _deliver(self, task_id: int, task: dict[str, Any], primary: dict[str, Any], data: dict[str, Any]) -> TaskSteps:
        """Propose (a dry run) or write the task's new data, recording what the run record needs."""
        image = {'url': primary['url'], 'name': file_name(primary)}
        if self.settings.dry_run:
            if self.record is not None:
                current = task.get('data')
                self.record.propose(task_id, current, data, image, summarize(current, data))
            return TaskOutcome(task_id, TaskProcessStatus.SUCCESS)
        digest = data_hash(data)
        if self.ledger is not None:
            self.ledger.intent(task_id, digest)
        if self.record is not None:
            self.record.before_write(task_id, task.get('data'), data, image)
        yield from self._write(task_id, data, digest)
        self._record_done(task_id, digest)
        if self.record is not None:
            self.record.written(task_id, digest)
        return TaskOutcome(task_id, TaskProcessStatus.SUCCESS)

    def _files(self, task: dict[str, Any]) -> Generator[Op, Any, list[dict[str, Any]]]:
        unit = task.get('data_unit')
        if not unit:
            raise TaskFailed('Task does not have a data unit')
        files = normalise_files(unit.get('files')) if isinstance(unit, dict) else []
        if not files:
            unit_id = unit.get('id') if isinstance(unit, dict) else unit
            fetched = yield GetDataUnit(unit_id, {'expand': 'files'})
            files = normalise_files(fetched.get('files') if isinstance(fetched, dict) else None)
        if not files:
            raise TaskFailed('Data unit does not have files')
        return files

    def _hook(self, name: str, *args: Any, **kwargs: Any) -> Generator[Op, Any, Any]:
        """A user's hook on a worker thread (a built-in one inline: it does no blocking work)."""
        fn = getattr(self.hooks, name)
        if name in self.settings.inline_hooks:
            return fn(*args, **kwargs)
        return (yield CallHook(fn, args, kwargs))

    # ------------------------------------------------------------------ file method
    def _from_file(
        self, task: dict[str, Any], files: list[dict[str, Any]], primary: dict[str, Any]
    ) -> Generator[Op, Any, Any]:
        target = find_spec_file(files, self.settings.spec or '')
        if target is None or not target.get('url'):
            raise TaskFailed('Target specification file not found for task')
        if 'convert_data_from_file' in self.settings.inline_hooks and 'download_json' in self.settings.inline_hooks:
            return (yield from self.read_annotation(target['url'], file_name(target)))
        args = (primary['url'], file_name(primary), target['url'], file_name(target))
        names = {f['url']: file_name(f) for f in files if f.get('url')}
        return (yield CallHook(self.hooks.convert_data_from_file, args, {'task_data': task}, names))

    def read_annotation(self, url: str, name: str | None = None) -> Generator[Op, Any, dict[str, Any]]:
        """The JSON object of an annotation file, or a task error naming the true cause."""
        name = name or url_name(url)
        limit = self.settings.max_annotation_bytes
        try:
            raw = yield Download(url, limit)
        except ClientError as exc:
            raise download_failure(exc, name, limit) from exc
        if len(raw) > PARSE_INLINE_BYTES:
            return (yield CallHook(parse_annotation, (raw, name)))
        return parse_annotation(raw, name)

    # ------------------------------------------------------------------ inference method
    def _from_inference(
        self, task: dict[str, Any], files: list[dict[str, Any]], primary: dict[str, Any]
    ) -> Generator[Op, Any, Any]:
        target, s = self.inference, self.settings
        if target is None or s.model is None:
            raise TaskFailed('Inference is not prepared (no pre-processor)')
        data_files = [
            {'url': f.get('url'), 'file_name': file_name(f), 'specification_name': f.get('specification')}
            for f in files
            if f.get('url')
        ]
        params = yield from self._hook(
            'setup_inference_params',
            primary['url'],
            file_name(primary),
            data_files,
            model_id=s.model,
            pre_processor_params=dict(s.pre_processor_params),
            pre_processor_config=dict(target.config),
            task_data=task,
        )
        body: dict[str, Any] = {'agent': s.agent, 'action': 'inference', 'version': target.version, 'params': params}
        if s.language:
            body['language'] = s.language
        result = yield RunPlugin(target.code, body)
        if isinstance(result, dict) and result.get('__synapse_deferred__'):
            result = yield from self._poll_deferred(target.code, body, result)
        if not result:
            raise TaskFailed(EMPTY_INFERENCE)
        return (yield from self._hook('convert_data_from_inference', result, task))

    def _poll_deferred(self, code: str, body: dict[str, Any], envelope: dict[str, Any]) -> Generator[Op, Any, Any]:
        ticket = envelope.get('ticket')
        poll = {
            **body,
            'params': {'model': self.settings.model, 'method': 'post', 'json': {'__synapse_poll__': ticket}},
        }
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
            yield Sleep(pause)
            waited += pause
            delay = min(delay * 1.5, DEFERRED_MAX_DELAY)
            reply = yield RunPlugin(code, poll)
            if not (isinstance(reply, dict) and reply.get('__synapse_deferred__')):
                return reply
            envelope = reply

    # ------------------------------------------------------------------ the write, exactly once
    def _write(self, task_id: int, data: dict[str, Any], digest: str) -> Generator[Op, Any, None]:
        """PUT the data; a write whose outcome is unclear is read back before it is repeated or called failed."""
        retries = self.settings.write_retries
        for attempt in range(retries + 1):
            try:
                yield Annotate(task_id, data, self.settings.schema)
                return
            except ClientError as exc:
                if _settled_by_server(exc):
                    raise
                error = exc
            landed = yield from self._holds(task_id, digest)
            if landed:
                return
            if landed is None:
                raise TaskFailed(
                    f'{error_text(error)} (the write may have taken effect: reading the task back failed too; '
                    'a re-run of this job checks it)'
                )
            if attempt == retries:
                raise error
            logger.warning(
                'Writing task %d again after %s (attempt %d of %d)', task_id, error, attempt + 2, retries + 1
            )
            yield Sleep(random.uniform(0, WRITE_PAUSE * 2**attempt))

    def _holds(self, task_id: int, digest: str) -> Generator[Op, Any, bool | None]:
        """Whether the task holds the data of hash ``digest`` now (None: it could not be read)."""
        for attempt in range(READ_BACKS):
            try:
                row = yield GetTask(task_id, {'fields': DATA_FIELDS})
            except ClientError:
                if attempt < READ_BACKS - 1:
                    yield Sleep(random.uniform(0, WRITE_PAUSE * 2**attempt))
                continue
            return isinstance(row, dict) and data_hash(row.get('data')) == digest
        return None

    def _record_done(self, task_id: int, digest: str) -> None:
        if self.ledger is not None:
            self.ledger.done(task_id, digest)
