"""Task mode: actions run in a persistent Ray actor on a real local cluster."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_harness import SAMPLE, files_containing, make_wheel

from synapse_sdk.exceptions import ExecutionError, ExecutorError, ValidationError
from synapse_sdk.plugins._loading import load_entrypoint
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayTaskExecutor, shutdown_task_executors
from synapse_sdk.plugins.runner import run_plugin

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.slow]

TASK_TOKEN = 'sk-task-0123456789abcdefTASK'


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


def _unfinished_actors(dashboard_url: str) -> list[tuple[str, str]]:
    from ray.util.state import list_actors

    states = list_actors(address=dashboard_url, filters=[('state', '!=', 'DEAD'), ('state', '!=', 'ALIVE')])
    return [(a.class_name, a.state) for a in states]


def test_actor_that_no_node_can_hold_fails_with_the_resources_and_is_removed(ray_cluster):
    ex = RayActorExecutor(ray_cluster.gcs_address, SAMPLE, num_gpus=0.5, placement_timeout=1)
    started = time.monotonic()
    with pytest.raises(ExecutorError) as info:
        ex.execute('add', {'a': 1, 'b': 2}, timeout=10)
    assert time.monotonic() - started < 15
    assert str(info.value) == (
        "The Ray actor for action 'add' cannot be placed: it asks num_gpus=0.5, and no node of the cluster has "
        'that (cluster totals: GPU 0); gave up after 1 s. Ask for less (num_cpus / num_gpus / memory) or add a '
        'node that has it'
    )
    assert _unfinished_actors(ray_cluster.dashboard_url) == []  # the pending actor was killed, not left queued


def test_token_reaches_the_actor_but_no_log_or_actor_record(ray_cluster, monkeypatch, caplog, capfd):
    import dataclasses

    from ray.util.state import list_actors

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv('SYNAPSE_HOST', 'http://127.0.0.1:9/')
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', TASK_TOKEN)
    with RayActorExecutor(ray_cluster.gcs_address, SAMPLE) as ex:
        result = ex.execute('credentials', {})
        actors = list_actors(address=ray_cluster.dashboard_url, detail=True, filters=[('state', '=', 'ALIVE')])
    assert result == {
        'child_secrets_on_path': None,
        'token_sha256': hashlib.sha256(TASK_TOKEN.encode()).hexdigest(),
        'host': 'http://127.0.0.1:9/',
        'params_in_env': False,
        'token': TASK_TOKEN,  # task mode hands the caller its result object as returned
        'secrets_on_path': [],
        'echo': None,
    }
    visible = json.dumps([dataclasses.asdict(a) for a in actors], default=str)
    assert 'ActionWorker' in visible
    assert TASK_TOKEN not in visible
    out, err = capfd.readouterr()
    assert TASK_TOKEN not in out + err
    assert TASK_TOKEN not in caplog.text
    assert files_containing(ray_cluster, TASK_TOKEN) == []


def _plugin_with_a_wheel(base: Path, package_manager: str) -> Path:
    """The sample plugin plus a local wheel; installs offline (``--no-index``) with ``package_manager``."""
    plugin = base / f'sample-{package_manager}'
    shutil.copytree(SAMPLE, plugin, ignore=shutil.ignore_patterns('__pycache__'))
    config = (plugin / 'config.yaml').read_text()
    options = "['--no-index']" if package_manager == 'pip' else "['--no-index', '--no-cache']"
    config = config.replace(
        'category: custom\n',
        f'category: custom\npackage_manager: {package_manager}\npackage_manager_options: {options}\n',
    )
    (plugin / 'config.yaml').write_text(config)
    (plugin / 'wheels').mkdir()
    make_wheel(plugin / 'wheels', 'synapse_probe', '1.0')
    return plugin


@pytest.mark.parametrize(
    'package_manager',
    [
        'pip',
        pytest.param(
            'uv',
            marks=pytest.mark.skipif(
                importlib.util.find_spec('uv') is None,
                reason='uv is not installed in this environment (pip install uv); Ray would download it',
            ),
        ),
    ],
)
def test_requirements_sdk_and_resources_reach_the_actor(ray_cluster, tmp_path, package_manager):
    plugin = _plugin_with_a_wheel(tmp_path, package_manager)
    with RayActorExecutor(ray_cluster.gcs_address, plugin, num_cpus=1, num_gpus=0, include_sdk=True) as ex:
        seen = ex.execute('environment', {'resources': True})
    runtime_resources = seen['cwd'].split('/working_dir_files/')[0]
    assert runtime_resources.endswith('/runtime_resources')
    assert seen['probe'] == '1.0'  # the wheel from wheels_dir, installed by the package manager
    assert seen['resources'] == {'CPU': 1.0}
    # include_sdk: the worker imported the SDK shipped with it, not the installed one
    assert seen['sdk_file'].startswith(f'{runtime_resources}/py_modules_files/')
    assert seen['sdk_file'].endswith('/synapse_sdk/__init__.py')
