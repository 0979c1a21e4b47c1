import pytest

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.actions.to_task import ToTaskAction, ToTaskMethod, ToTaskParams
from synapse_sdk.plugins.executors._run import validate_params

BASE = {'name': 'job', 'project': 1, 'agent': 1}


def parse(**extra):
    return validate_params(ToTaskAction, {**BASE, **extra})


def test_defaults():
    params = parse(target_specification_name='annotation_data')
    assert params.method is ToTaskMethod.FILE
    assert (params.concurrency, params.batch_size, params.resume, params.retry_failed) == (16, 1, True, False)
    assert (params.pre_processor_timeout_seconds, params.pre_processor_poll_seconds) == (180, 10)
    assert params.schema_name == 'dm_schema_v1'
    assert params.task_filters == {} and params.pre_processor_params == {}


@pytest.mark.parametrize(('limit', 'parsed'), [(0, 0), (25, 25), ('25', 25), (None, None)])
def test_task_filter_limit_is_a_whole_number(limit, parsed):
    params = parse(target_specification_name='a', task_filters={'status': 'pending', 'limit': limit})
    assert params.task_filters == {'status': 'pending', 'limit': parsed}


def test_concurrency_has_no_upper_limit_and_retries_default_to_two():
    params = parse(target_specification_name='a', concurrency=1000)
    assert (params.concurrency, params.annotate_retries) == (1000, 2)


def test_schema_is_accepted_under_its_documented_name():
    assert parse(target_specification_name='a', schema='any').schema_name == 'any'
    assert 'schema' not in ToTaskParams.model_fields  # no shadowing of BaseModel.schema


@pytest.mark.parametrize(
    ('extra', 'message'),
    [
        ({'name': 'has space', 'target_specification_name': 'a'}, 'name: must not contain whitespace'),
        ({'name': '', 'target_specification_name': 'a'}, 'name: String should have at least 1 character'),
        ({}, 'target_specification_name: required for file method'),
        ({'method': 'inference'}, 'pre_processor: required for inference method; model: required for inference method'),
        ({'method': 'inference', 'pre_processor': 3}, 'model: required for inference method'),
        ({'method': 'magic', 'target_specification_name': 'a'}, "method: Input should be 'file' or 'inference'"),
        (
            {'target_specification_name': 'a', 'concurrency': 0},
            'concurrency: Input should be greater than or equal to 1',
        ),
        ({'target_specification_name': 'a', 'schema': 'v2'}, "schema: Input should be 'dm_schema_v1' or 'any'"),
        (
            {'target_specification_name': 'a', 'task_filters': {'limit': 'abc'}},
            'task_filters.limit: must be a whole number >= 0, or null for no limit',
        ),
        (
            {'target_specification_name': 'a', 'task_filters': {'status': 'pending', 'limit': -1}},
            'task_filters.limit: must be a whole number >= 0, or null for no limit',
        ),
        (
            {'target_specification_name': 'a', 'task_filters': {'limit': 2.5}},
            'task_filters.limit: must be a whole number >= 0, or null for no limit',
        ),
        (
            {'target_specification_name': 'a', 'task_filters': {'limit': True}},
            'task_filters.limit: must be a whole number >= 0, or null for no limit',
        ),
        (
            {'target_specification_name': 'a', 'annotate_retries': 11},
            'annotate_retries: Input should be less than or equal to 10',
        ),
    ],
)
def test_bad_params_name_the_field(extra, message):
    with pytest.raises(ValidationError) as info:
        parse(**extra)
    assert str(info.value) == f'Parameter validation failed: {message}'


def test_missing_required_fields():
    with pytest.raises(ValidationError) as info:
        validate_params(ToTaskAction, {'target_specification_name': 'a'})
    assert str(info.value) == (
        'Parameter validation failed: name: Field required; project: Field required; agent: Field required'
    )
