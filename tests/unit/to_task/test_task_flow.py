"""One task's flow (``TaskFlow``), driven by hand: every operation it asks for and how each outcome is decided.

The flow does no I/O, so these tests answer its operations directly: what a backend or a network
would answer, including the answers real networks lose.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any

import pytest

from synapse_sdk.exceptions import (
    ClientConnectionError,
    ClientTimeoutError,
    RequestValidationError,
    ResponseTooLargeError,
    ServerError,
)
from synapse_sdk.plugins.actions.to_task.io import Annotate, CallHook, Download, GetTask, ListTasks, Op, Sleep
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, data_hash
from synapse_sdk.plugins.actions.to_task.models import MIB, TaskOutcome, TaskProcessStatus, ToTaskMethod
from synapse_sdk.plugins.actions.to_task.task import FlowSettings, TaskFlow

FILES = {
    'image': {'url': 'http://b.test/files/1/', 'is_primary': True, 'file_name_original': 'a.jpg'},
    'annotation_data': {'url': 'http://b.test/files/2/', 'file_name_original': 'a.json'},
}
ROW = {'id': 7, 'data': {}, 'data_unit': {'id': 3, 'files': FILES}}
DATA = {'annotations': {'image_1': [{'id': 'b1'}]}}
BUILT_IN = frozenset({'convert_data_from_file', 'download_json', 'convert_data_from_inference'})


class Hooks:
    def convert_data_from_file(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return DATA

    def convert_data_from_inference(self, inference_data: Any, task_data: Any = None) -> dict[str, Any]:
        return inference_data

    def setup_inference_params(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def download_json(self, url: str) -> dict[str, Any]:
        return DATA


Answer = Callable[[Op], Any]


def drive(steps: Generator[Op, Any, TaskOutcome], answer: Answer) -> tuple[TaskOutcome, list[Op]]:
    """Run the flow, answering each operation with ``answer(op)`` (an exception it returns is raised into it)."""
    seen: list[Op] = []
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as done:
            return done.value, seen
        seen.append(op)
        reply = answer(op)
        value, error = (None, reply) if isinstance(reply, BaseException) else (reply, None)


def backend(*, puts: list[Any], holds: list[Any] | None = None, file: bytes | Exception | None = None) -> Answer:
    """A backend whose PUTs answer ``puts`` in turn and whose task read-backs answer ``holds`` in turn."""
    holds = list(holds or [])
    puts = list(puts)

    def answer(op: Op) -> Any:
        if isinstance(op, Download):
            return file if file is not None else json.dumps(DATA).encode()
        if isinstance(op, Annotate):
            return puts.pop(0)
        if isinstance(op, GetTask):
            return holds.pop(0)
        if isinstance(op, Sleep):
            return None
        raise AssertionError(f'unexpected {op}')

    return answer


def flow(tmp_path=None, **settings: Any) -> TaskFlow:
    ledger = Ledger(tmp_path / 'job.jsonl') if tmp_path is not None else None
    defaults = {'method': ToTaskMethod.FILE, 'agent': 1, 'spec': 'annotation_data', 'inline_hooks': BUILT_IN}
    return TaskFlow(FlowSettings(**{**defaults, **settings}), Hooks(), ledger)


def kinds(ops: list[Op]) -> list[str]:
    return [type(op).__name__ for op in ops]


def written(data: dict[str, Any] = DATA) -> dict[str, Any]:
    return {'id': 7, 'data': data}


def test_the_happy_path_downloads_on_the_loop_and_writes_once():
    outcome, ops = drive(flow().process(7, ROW), backend(puts=[written()]))
    assert outcome == TaskOutcome(7, TaskProcessStatus.SUCCESS)
    assert kinds(ops) == ['Download', 'Annotate']
    assert ops[0] == Download('http://b.test/files/2/', 64 * MIB)
    assert ops[1] == Annotate(7, DATA, None)


@pytest.mark.parametrize(
    'lost',
    [
        ClientTimeoutError(408, 'Request timed out: PUT b.test/tasks/7/annotate_task_data/'),
        ClientConnectionError(0, 'Could not connect (ServerDisconnectedError)', kind='reset'),
        ServerError(503, 'injected fault'),
        ServerError(500, 'committed, then failed'),
    ],
)
def test_a_write_whose_answer_was_lost_is_read_back_and_not_repeated_when_it_landed(lost):
    outcome, ops = drive(flow().process(7, ROW), backend(puts=[lost], holds=[written()]))
    assert outcome == TaskOutcome(7, TaskProcessStatus.SUCCESS)
    assert kinds(ops) == ['Download', 'Annotate', 'GetTask']
    assert ops[2] == GetTask(7, {'fields': 'id,data'})


def test_a_write_that_did_not_land_is_repeated_after_a_pause_then_succeeds():
    answer = backend(puts=[ServerError(503, 'busy'), written()], holds=[written({})])
    outcome, ops = drive(flow().process(7, ROW), answer)
    assert outcome.status is TaskProcessStatus.SUCCESS
    assert kinds(ops) == ['Download', 'Annotate', 'GetTask', 'Sleep', 'Annotate']


def test_a_write_that_never_lands_fails_with_its_own_error_after_the_retries():
    error = ServerError(500, 'boom')
    answer = backend(puts=[error] * 3, holds=[written({})] * 3)
    outcome, ops = drive(flow(write_retries=2).process(7, ROW), answer)
    assert outcome == TaskOutcome(7, TaskProcessStatus.FAILED, '500: boom')
    assert kinds(ops).count('Annotate') == 3 and kinds(ops).count('GetTask') == 3


def test_a_write_the_backend_refused_fails_at_once_without_a_read_back():
    answer = backend(puts=[RequestValidationError(400, {'data': ['must be an object']})])
    outcome, ops = drive(flow().process(7, ROW), answer)
    assert outcome == TaskOutcome(7, TaskProcessStatus.FAILED, '400: {"data":["must be an object"]}')
    assert kinds(ops) == ['Download', 'Annotate']


def test_when_neither_the_write_nor_any_read_back_is_answered_the_failure_says_so(tmp_path):
    lost = ClientTimeoutError(408, 'Request timed out: PUT b.test/tasks/7/annotate_task_data/')
    answer = backend(puts=[lost], holds=[ClientConnectionError(0, 'down')] * 3)
    task_flow = flow(tmp_path)
    outcome, ops = drive(task_flow.process(7, ROW), answer)
    assert outcome.status is TaskProcessStatus.FAILED
    assert outcome.error == (
        '408: Request timed out: PUT b.test/tasks/7/annotate_task_data/ (the write may have taken effect: reading '
        'the task back failed too; a re-run of this job checks it)'
    )
    assert kinds(ops) == ['Download', 'Annotate', 'GetTask', 'Sleep', 'GetTask', 'Sleep', 'GetTask']
    task_flow.ledger.close()
    state = Ledger(tmp_path / 'job.jsonl').state
    assert state.intents == {7: data_hash(DATA)}  # a re-run reads the task and skips the PUT if it landed


@pytest.mark.parametrize(
    ('file', 'error'),
    [
        (b'{"boxes": [', 'Invalid JSON format in annotation file (a.json: line 1, column 12)'),
        (b'{"a": "\xff"}', 'Invalid JSON format in annotation file (a.json: not UTF-8 text)'),
        (b'[1, 2]', 'Invalid JSON format in annotation file (a.json: expected an object, got an array)'),
        (
            ClientTimeoutError(408, 'Request timed out: GET b.test/files/2/'),
            'Failed to download JSON from URL (timed out)',
        ),
        (ClientConnectionError(0, 'x', kind='refused'), 'Failed to download JSON from URL (connection refused)'),
        (ClientConnectionError(0, 'x', kind='incomplete'), 'Failed to download JSON from URL (incomplete body)'),
        (ServerError(503, 'down'), 'Failed to download JSON from URL (status 503)'),
        (
            ResponseTooLargeError(200, 'too big', limit=MIB),
            'Annotation file a.json is larger than the 1 MiB limit (raise max_annotation_file_mb)',
        ),
    ],
)
def test_content_errors_and_network_errors_are_told_apart(file, error):
    outcome, ops = drive(flow(max_annotation_bytes=MIB).process(7, ROW), backend(puts=[], file=file))
    assert outcome == TaskOutcome(7, TaskProcessStatus.FAILED, error)
    assert kinds(ops) == ['Download']  # nothing was written


def test_a_large_annotation_file_is_parsed_on_a_worker_thread():
    big = json.dumps({'annotations': {'x': 'y' * (2 * MIB)}}).encode()
    outcome, ops = drive(
        flow().process(7, ROW),
        lambda op: big if isinstance(op, Download) else op.fn(*op.args) if isinstance(op, CallHook) else written(),
    )
    assert outcome.status is TaskProcessStatus.SUCCESS
    assert kinds(ops) == ['Download', 'CallHook', 'Annotate']


def test_a_task_done_before_is_skipped_only_while_it_still_holds_what_was_written(tmp_path):
    ledger = Ledger(tmp_path / 'job.jsonl')
    ledger.intent(7, data_hash(DATA))
    ledger.done(7, data_hash(DATA))
    ledger.close()
    same = {'id': 7, 'data': DATA}
    outcome, ops = drive(flow(tmp_path).process(7, same), backend(puts=[]))
    assert (outcome.status, kinds(ops)) == (TaskProcessStatus.SKIPPED, [])
    changed = {'id': 7, 'data': {'annotations': 'edited by hand'}}
    outcome, ops = drive(
        flow(tmp_path).process(7, changed),
        lambda op: ROW if isinstance(op, GetTask) else backend(puts=[written()])(op),
    )
    assert outcome.status is TaskProcessStatus.SUCCESS
    assert kinds(ops) == ['GetTask', 'Download', 'Annotate']  # the full task read, then annotated again


def test_prefetch_reads_details_of_new_tasks_and_only_the_data_of_done_ones(tmp_path):
    ledger = Ledger(tmp_path / 'job.jsonl')
    ledger.done(2, 'h')
    ledger.close()
    steps = flow(tmp_path).prefetch(9, [1, 2, 3])
    rows = {1: ROW | {'id': 1}, 2: {'id': 2, 'data': {}}, 3: ROW | {'id': 3}}

    def answer(op: Op) -> Any:
        assert isinstance(op, ListTasks)
        return [rows[i] for i in op.params['id__in']]

    seen: list[Op] = []
    value = None
    try:
        while True:
            op = steps.send(value)
            seen.append(op)
            value = answer(op)
    except StopIteration as done:
        assert set(done.value) == {1, 2, 3}
    assert [dict(op.params) for op in seen] == [
        {'project': 9, 'id__in': [1, 3], 'fields': 'id,data,data_unit', 'page_size': 2, 'expand': 'data_unit'},
        {'project': 9, 'id__in': [2], 'fields': 'id,data', 'page_size': 1},
    ]


def test_an_intent_whose_data_is_already_in_place_is_skipped_without_a_write(tmp_path):
    ledger = Ledger(tmp_path / 'job.jsonl')
    ledger.intent(7, data_hash(DATA))
    ledger.close()
    outcome, ops = drive(flow(tmp_path).process(7, {**ROW, 'data': DATA}), backend(puts=[]))
    assert (outcome.status, ops) == (TaskProcessStatus.SKIPPED, [])
