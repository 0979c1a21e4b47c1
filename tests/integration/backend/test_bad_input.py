"""Bad input gets a 4xx naming the field, never a 500: huge integers, out-of-range dates, log entries."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.clients.base.call import Call
from synapse_sdk.exceptions import ClientError, NotFoundError, RequestValidationError

HUGE = 99999999999999999999999
INT64_MAX = 2**63 - 1
LE_MAX = f'Input should be less than or equal to {INT64_MAX}'
INT_RANGE = f'an integer from {-(2**63)} to {INT64_MAX}'


@pytest.fixture(autouse=True)
def _no_server_crash(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger='synapse_sdk.local')
    yield
    assert [r.getMessage() for r in caplog.records if 'Unhandled error' in r.getMessage()] == []


def test_huge_ids_in_bodies_are_400_naming_the_field(client: BackendClient, project: dict) -> None:
    cases = [
        (lambda: client.tasks.create(HUGE), f'400: project: {LE_MAX}'),
        (lambda: client.tasks.create(project['id'], data_unit=HUGE), f'400: data_unit: {LE_MAX}'),
        (lambda: client.projects.create('x', data_collection=HUGE), f'400: data_collection: {LE_MAX}'),
        (lambda: client.jobs.create({'action': 'a', 'agent': HUGE}), f'400: agent: {LE_MAX}'),
        (lambda: client.models.create({'name': 'm', 'file': HUGE}), f'400: file: {LE_MAX}'),
        (lambda: client.run_plugin('p', {'agent': HUGE, 'action': 'train'}), f'400: agent: {LE_MAX}'),
        (
            lambda: client.create_logs([{'event': 'e', 'datetime': '2025-01-01T00:00:00Z', 'job': HUGE}]),
            f'400: logs[0].job: {LE_MAX}',
        ),
    ]
    for call, message in cases:
        with pytest.raises(RequestValidationError) as info:
            call()
        assert str(info.value) == message


def test_huge_ids_in_paths_are_404(client: BackendClient) -> None:
    cases = [
        (lambda: client.get_task(HUGE), f'404: Task {HUGE} not found'),
        (lambda: client.annotate_task_data(HUGE, {'a': 1}), f'404: Task {HUGE} not found'),
        (lambda: client.get_project(HUGE), f'404: Project {HUGE} not found'),
        (lambda: client.get_data_unit(HUGE), f'404: Data unit {HUGE} not found'),
        (lambda: client.get_job(HUGE), f'404: Job {HUGE} not found'),
        (lambda: client.update_job(HUGE, {'status': 'RUNNING'}), f'404: Job {HUGE} not found'),
        (lambda: client.plugins.get(HUGE), f"404: Plugin '{HUGE}' not found"),
        (lambda: client.get_plugin_release(HUGE), f'404: Plugin release {HUGE} not found'),
        (lambda: client.data_files.download(f'files/{HUGE}/'), f'404: File {HUGE} not found'),
        (lambda: client.get_model(HUGE), f'404: Model {HUGE} not found'),
        (lambda: client.get_dataset(HUGE), f'404: Ground truth dataset version {HUGE} not found'),
    ]
    for call, message in cases:
        with pytest.raises(NotFoundError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        ({'project': HUGE}, f"400: Invalid value '{HUGE}' for filter 'project': expected {INT_RANGE}"),
        ({'id__in': [1, HUGE]}, f"400: Invalid value '{HUGE}' for filter 'id__in': expected {INT_RANGE}"),
        ({'assignee': -HUGE}, f"400: Invalid value '{-HUGE}' for filter 'assignee': expected {INT_RANGE} or null"),
        (
            {'created_at__gte': '0001-01-01T00:00:00+14:00'},
            "400: Invalid value '0001-01-01T00:00:00+14:00' for filter 'created_at__gte': expected a date and time "
            'from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z',
        ),
        (
            {'created_at__lte': '9999-12-31T23:00:00-14:00'},
            "400: Invalid value '9999-12-31T23:00:00-14:00' for filter 'created_at__lte': expected a date and time "
            'from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z',
        ),
    ],
)
def test_out_of_range_filters_are_400_naming_the_filter(client: BackendClient, params: dict, message: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        client.list_tasks(params)
    assert str(info.value) == message


def test_int64_bounds_themselves_are_fine(client: BackendClient, project: dict) -> None:
    task = client.tasks.create(project['id'], data={'big': HUGE})  # JSON data may hold any integer
    assert client.get_task(task['id'])['data'] == {'big': HUGE}
    assert client.list_tasks({'project': project['id'], 'assignee': INT64_MAX}) == []
    with pytest.raises(NotFoundError, match=rf'^404: Task {INT64_MAX} not found$'):
        client.get_task(INT64_MAX)


def test_log_validation_errors_name_the_entry_and_field(client: BackendClient) -> None:
    good = {'event': 'message', 'data': {}, 'datetime': '2025-01-01T00:00:00Z'}
    cases = [
        ([good, {'event': 'message'}], '400: logs[1].datetime: Field required'),
        (
            [good, {**good, 'datetime': 'nope'}],
            '400: logs[1].datetime: Input should be a valid datetime or date, input is too short',
        ),
        ({'event': '', 'datetime': '2025-01-01'}, '400: event: String should have at least 1 character'),
        ([{**good, 'colour': 'red'}], '400: logs[0].colour: Extra inputs are not permitted'),
    ]
    for body, message in cases:
        with pytest.raises(RequestValidationError) as info:
            client.create_logs(body)
        assert str(info.value) == message
    assert client.logs.list() == []  # nothing of a refused list was written


def test_a_log_body_that_is_neither_object_nor_list(client: BackendClient) -> None:
    with pytest.raises(ClientError) as info:
        client._call(Call('POST', 'logs/', json='just text'), lambda body: body)
    assert str(info.value) == '400: body: expected a log entry object or a list of them'
