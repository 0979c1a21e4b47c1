import pytest

from synapse_sdk.clients.backend.tasks import build_list_tasks
from synapse_sdk.exceptions import ServerError
from synapse_sdk.plugins.actions.to_task.errors import TaskFailed
from synapse_sdk.plugins.actions.to_task.files import error_text, file_name, find_spec_file, normalise_files
from synapse_sdk.plugins.actions.to_task.inference import classify, dispatch_payload


def test_task_filters_reach_the_wire_in_the_documented_forms():
    call = build_list_tasks(
        {'status__in': ['pending', 'in_progress'], 'assignee': None, 'data_collection': 4, 'project': 9, 'flag': True}
    )
    assert call.params == {
        'page_size': '100',
        'status__in': 'pending,in_progress',
        'assignee': 'null',
        'data_collection': '4',
        'project': '9',
        'flag': 'true',
    }


@pytest.mark.parametrize(
    ('resources', 'payload'),
    [
        (
            {'required_cpu_count': 2, 'required_gpu_count': 1, 'memory_bytes': 123},
            {'num_cpus': 2, 'num_gpus': 1, 'memory': 123},
        ),
        ({}, {'num_cpus': 1, 'num_gpus': 0.1}),
        ({'required_cpu_count': 1, 'required_gpu_count': 0}, {'num_cpus': 1, 'num_gpus': 0}),  # 0 is no GPU
        (
            {'num_cpus': 4, 'num_replicas': 2, 'memory': 9, 'memory_bytes': 1},
            {'num_cpus': 4, 'num_gpus': 0.1, 'num_replicas': 2, 'memory': 9},
        ),
    ],
)
def test_dispatch_payload(resources, payload):
    config = {'actions': {'inference': {'required_resources': resources}}}
    assert dispatch_payload(config) == payload


@pytest.mark.parametrize(
    ('apps', 'bucket'),
    [
        ([{'status': 'DEPLOY_FAILED'}, {'status': 'RUNNING'}], ('running', 'RUNNING')),
        ([{'status': 'DEPLOYING'}, {'status': 'UNHEALTHY'}], ('failed', 'UNHEALTHY')),
        ([{'status': 'UNAVAILABLE'}], ('failed', 'UNAVAILABLE')),
        ([{'status': 'NOT_STARTED'}, {'status': 'DELETING'}], ('pending', None)),
        ([], ('pending', None)),
        ({'results': [{'status': 'RUNNING'}]}, ('running', 'RUNNING')),
        ('garbage', ('pending', None)),
    ],
)
def test_classify_serve_applications(apps, bucket):
    assert classify(apps) == bucket


def test_files_in_both_forms():
    as_dict = {
        'image': {'url': 'u1', 'is_primary': True, 'file_name_original': 'a.jpg'},
        'annotation_data': {'url': 'u2'},
    }
    files = normalise_files(as_dict)
    assert find_spec_file(files, 'annotation_data')['url'] == 'u2'
    as_list = [
        {'url': 'u1', 'is_primary': True, 'filename': 'a.jpg'},
        {'url': 'u2', 'specification_name': 'ann', 'name': 'n'},
    ]
    files = normalise_files(as_list)
    assert find_spec_file(files, 'ann')['url'] == 'u2'
    assert file_name(files[0]) == 'a.jpg' and file_name(files[1]) == 'n'
    assert normalise_files(None) == []


def test_error_text_is_sanitised():
    assert error_text(ServerError(500, {'detail': 'boom'})) == '500: boom'
    assert error_text(TaskFailed('Task does not have a data unit')) == 'Task does not have a data unit'
    text = error_text(RuntimeError('GET https://user:pw@s3.example.com/f.json?X-Amz-Signature=abc failed'))
    assert text == 'RuntimeError: GET https://s3.example.com/f.json failed'
