"""Task mode: actions run in a persistent Ray actor on a real local cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ray_harness import SAMPLE

from synapse_sdk.exceptions import ExecutionError, ValidationError
from synapse_sdk.plugins._loading import load_entrypoint
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayTaskExecutor, shutdown_task_executors
from synapse_sdk.plugins.runner import run_plugin

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope='module')
def executor(ray_cluster) -> Iterator[RayActorExecutor]:
    with RayActorExecutor(ray_cluster.gcs_address, SAMPLE) as ex:
        yield ex


def test_class_action_returns_its_result_model_from_a_persistent_actor(executor):
    echo_action = load_entrypoint('plugin.actions:EchoAction', SAMPLE)
    first = executor.execute(echo_action, {'text': 'ab', 'repeat': 2})
    second = executor.execute(echo_action, {'text': 'c'})
    assert type(first).__name__ == 'EchoResult'
    assert first.model_dump() == {'text': 'abab', 'greeting': 'hello', 'pid': first.pid}
    assert second.pid == first.pid  # the same warm actor served both calls


def test_function_action_by_key_returns_its_dict(executor):
    assert executor.execute('add', {'a': 2, 'b': 40}) == {'sum': 42}


def test_bad_params_fail_before_anything_is_sent(executor):
    add = load_entrypoint('plugin.actions:add', SAMPLE)
    with pytest.raises(ValidationError, match=r'^Parameter validation failed: b: Field required$'):
        executor.execute(add, {'a': 1})


def test_failing_action_raises_execution_error_and_the_actor_survives(executor):
    pid = executor.execute('echo', {'text': 'x'})['pid']
    with pytest.raises(ExecutionError, match=r'^Action execution failed: kaboom: disk full$') as info:
        executor.execute('fail', {'why': 'disk full'})
    assert info.value.details == {'action': 'fail', 'exception': 'ValueError'}
    assert executor.execute('echo', {'text': 'x'})['pid'] == pid


def test_crashed_actor_is_replaced_and_the_call_names_the_action(ray_cluster):
    with RayTaskExecutor(ray_cluster.gcs_address, SAMPLE) as ex:
        before = ex.execute('echo', {'text': 'x'})['pid']
        with pytest.raises(ExecutionError) as info:
            ex.execute('crash', {})
        assert str(info.value) == (
            "Ray actor execution failed: action 'crash': the actor process died (crashed or was killed); "
            'a new actor starts on the next call'
        )
        after = ex.execute('echo', {'text': 'x'})['pid']
    assert after != before


def test_call_past_its_timeout_stops_the_actor(ray_cluster):
    with RayActorExecutor(ray_cluster.gcs_address, SAMPLE) as ex:
        with pytest.raises(ExecutionError, match=r"^Ray actor execution failed: action 'sleep': no answer within 1 s"):
            ex.execute('sleep', {'seconds': 30}, timeout=1)
        assert ex.execute('add', {'a': 1, 'b': 1}) == {'sum': 2}


def test_run_plugin_task_mode_runs_class_and_function_actions(ray_cluster):
    try:
        result = run_plugin(str(SAMPLE), 'echo', {'text': 'hi'}, mode='task', ray_address=ray_cluster.gcs_address)
        total = run_plugin(str(SAMPLE), 'add', {'a': 1, 'b': 2}, mode='task', ray_address=ray_cluster.gcs_address)
    finally:
        shutdown_task_executors()
    assert (type(result).__name__, result.text, result.greeting) == ('EchoResult', 'hi', 'hello')
    assert total == {'sum': 3}
