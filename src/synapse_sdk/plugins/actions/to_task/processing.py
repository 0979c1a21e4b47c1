"""Annotating one task: read it, find its files, convert, write (a generator of I/O steps, see ``Op``)."""

from __future__ import annotations

import logging
import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synapse_sdk.exceptions import ClientError, ServerError
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, LedgerState, data_hash
from synapse_sdk.plugins.actions.to_task.models import TaskProcessStatus, ToTaskMethod, ToTaskParams
from synapse_sdk.utils.redact import sanitize_urls

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.to_task.action import ToTaskAction

logger = logging.getLogger('synapse_sdk.plugins.to_task')

TASK_FIELDS = 'id,data,data_unit'
ANNOTATE_RETRY_BACKOFF = 0.2  #: seconds; the cap of the jittered pause before a PUT's n-th retry is this x 2**(n-1)


class TaskFailed(Exception):
    """A task-level failure with a message meant for the user."""


class RunStopped(BaseException):
    """The run is stopping (an interrupt, a failing caller): the task ends here, without an outcome.

    A ``BaseException``, so that no task-level ``except Exception`` (the pipeline's, a hook's) records
    the task as failed.
    """


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How one task ended."""

    task_id: int
    status: TaskProcessStatus
    error: str | None = None


def error_text(exc: BaseException) -> str:
    """The user-facing text of a task error: ``<code>: <detail>`` for HTTP errors, sanitised always."""
    if isinstance(exc, ClientError | TaskFailed):
        return sanitize_urls(str(exc))
    return sanitize_urls(f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__)


def file_name(file: dict[str, Any]) -> str | None:
    """First of ``file_name_original``, ``filename``, ``name``."""
    for key in ('file_name_original', 'filename', 'name'):
        if file.get(key):
            return str(file[key])
    return None


def normalise_files(files: Any) -> list[dict[str, Any]]:
    """Both accepted ``files`` forms as a list of dicts carrying ``specification``."""
    if isinstance(files, dict):
        return [
            {**value, 'specification': value.get('specification') or key}
            for key, value in files.items()
            if isinstance(value, dict)
        ]
    if isinstance(files, list):
        return [f for f in files if isinstance(f, dict)]
    return []


def find_spec_file(files: list[dict[str, Any]], spec: str) -> dict[str, Any] | None:
    """The file of specification ``spec``."""
    for f in files:
        if spec in (f.get('specification'), f.get('specification_name'), f.get('name')):
            return f
    return None


Op = tuple[str, tuple[Any, ...]]
"""One I/O step of a task, ``(name, args)``: ``get_task``, ``get_data_unit``, ``download_json``, ``list_tasks``,
``annotate``, ``hook`` (a blocking callable) or ``sleep``; the driver answers it with the result or raises into it."""
TaskSteps = Generator[Op, Any, TaskOutcome]


class TaskProcessor:
    """The work of one task, written once as a generator of I/O steps (holds no per-task state).

    The pipeline drives it either on its event loop (each step awaited: aiohttp, hooks on worker
    threads) or whole on one worker thread (each step a plain call on the run's client).
    """

    def __init__(self, action: ToTaskAction, params: ToTaskParams, ledger: Ledger | None) -> None:
        self.action = action
        self.params = params
        self.ledger = ledger
        self.state = ledger.state if ledger is not None and params.resume else LedgerState()
        self.schema = 'any' if params.schema_name == 'any' else None
        self.inline_file_hook = params.method is ToTaskMethod.FILE and action.uses_default_file_hook()

    def prefetch(self, project: int, task_ids: list[int]) -> Generator[Op, Any, dict[int, dict[str, Any]]]:
        """Details of many tasks in one listing call (``id__in``); ``{}`` when the backend cannot answer so.

        Each row has the shape of ``tasks/{id}/?fields=id,data,data_unit&expand=data_unit`` (only
        rows with ``data`` and an expanded ``data_unit`` are used); tasks missing from the answer
        are read one by one, so this is only a shortcut.
        """
        wanted = [t for t in task_ids if t not in self.state.done]
        if not wanted:
            return {}
        query = {
            'project': project,
            'id__in': ','.join(str(t) for t in wanted),
            'fields': TASK_FIELDS,
            'expand': 'data_unit',
            'page_size': len(wanted),
        }
        try:
            reply = yield ('list_tasks', (query,))
        except Exception:  # the per-task path still works
            return {}
        items = reply.get('results') if isinstance(reply, dict) else reply
        if not isinstance(items, list):
            return {}
        wanted_set = set(wanted)
        return {
            t['id']: t
            for t in items
            if isinstance(t, dict)
            and t.get('id') in wanted_set
            and 'data' in t
            and isinstance(t.get('data_unit'), dict)
        }

    def process(self, task_id: int, task: dict[str, Any] | None = None) -> TaskSteps:
        """Annotate ``task_id`` (``task``: its details when already fetched); never raises."""
        if task_id in self.state.done:
            return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
        try:
            return (yield from self._process(task_id, task))
        except Exception as exc:  # a task-level error never stops the job
            error = error_text(exc)
            if self.ledger is not None:
                self.ledger.failed(task_id, error)
            return TaskOutcome(task_id, TaskProcessStatus.FAILED, error)

    def _process(self, task_id: int, task: dict[str, Any] | None) -> TaskSteps:
        if task is None:
            task = yield ('get_task', (task_id, {'fields': TASK_FIELDS, 'expand': 'data_unit'}))
        if not isinstance(task, dict):
            raise TaskFailed('Invalid task response')
        pending = self.state.intents.get(task_id)
        if pending is not None and data_hash(task.get('data')) == pending:
            # an earlier run wrote this data but died before recording it
            self._record_done(task_id, pending)
            return TaskOutcome(task_id, TaskProcessStatus.SKIPPED)
        files = yield from self._files(task)
        primary = next((f for f in files if f.get('is_primary') and f.get('url')), None)
        if primary is None:
            raise TaskFailed('Primary file URL not found for task')
        if self.params.method is ToTaskMethod.FILE:
            data = yield from self._from_file(task, files, primary)
        else:
            data = yield ('hook', (self.action.annotate_from_inference, (task, files, primary), {}))
        if not isinstance(data, dict):
            raise TaskFailed(f'Conversion returned {type(data).__name__}; task data must be an object')
        digest = data_hash(data)
        if self.ledger is not None:
            self.ledger.intent(task_id, digest)
        yield from self._put(task_id, data)
        self._record_done(task_id, digest)
        return TaskOutcome(task_id, TaskProcessStatus.SUCCESS)

    def _put(self, task_id: int, data: dict[str, Any]) -> Generator[Op, Any, None]:
        """The PUT, repeated after a 500 up to ``annotate_retries`` times: it writes the same data again."""
        retries = self.params.annotate_retries
        for attempt in range(retries + 1):
            try:
                yield ('annotate', (task_id, data, self.schema))
                return
            except ServerError as exc:
                if exc.status_code != 500 or attempt == retries:
                    raise
            logger.warning('Retrying PUT of task %d after 500 (attempt %d of %d)', task_id, attempt + 2, retries + 1)
            yield ('sleep', (random.uniform(0, ANNOTATE_RETRY_BACKOFF * 2**attempt),))

    def _record_done(self, task_id: int, digest: str) -> None:
        if self.ledger is not None:
            self.ledger.done(task_id, digest)

    def _files(self, task: dict[str, Any]) -> Generator[Op, Any, list[dict[str, Any]]]:
        unit = task.get('data_unit')
        if not unit:
            raise TaskFailed('Task does not have a data unit')
        files = normalise_files(unit.get('files')) if isinstance(unit, dict) else []
        if not files:
            unit_id = unit.get('id') if isinstance(unit, dict) else unit
            fetched = yield ('get_data_unit', (unit_id, {'expand': 'files'}))
            files = normalise_files(fetched.get('files') if isinstance(fetched, dict) else None)
        if not files:
            raise TaskFailed('Data unit does not have files')
        return files

    def _from_file(
        self, task: dict[str, Any], files: list[dict[str, Any]], primary: dict[str, Any]
    ) -> Generator[Op, Any, Any]:
        spec = self.params.target_specification_name or ''
        target = find_spec_file(files, spec)
        if target is None or not target.get('url'):
            raise TaskFailed('Target specification file not found for task')
        if self.inline_file_hook:  # the default hook, without the trip to a worker thread
            try:
                data = yield ('download_json', (target['url'],))
            except Exception as exc:
                raise TaskFailed('Failed to download JSON from URL') from exc
            if not isinstance(data, dict):
                raise TaskFailed('Failed to download JSON from URL')
            return data
        args = (primary['url'], file_name(primary), target['url'], file_name(target))
        return (yield ('hook', (self.action.convert_data_from_file, args, {'task_data': task})))
