"""The Ray executors' public surface, without Ray: lazy imports and the missing-extra error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import synapse_sdk.plugins.executors.ray as ray_executors
from synapse_sdk.exceptions import MissingDependencyError
from synapse_sdk.plugins.executors.ray import RayActorExecutor, RayJobExecutor, RayTaskExecutor

SAMPLE = Path(__file__).resolve().parents[2] / 'integration' / 'ray' / 'plugins' / 'sample'


@pytest.fixture(autouse=True)
def _no_ray_submodules(monkeypatch):
    """Like the unit suite's `_no_ray`, also for Ray submodules another test of this session imported."""
    for name in [m for m in sys.modules if m.startswith('ray.')]:
        monkeypatch.setitem(sys.modules, name, None)


HINT = r"^Ray is required for task and job modes: pip install 'synapse-sdk\[ray\]'$"


def test_exports_are_pinned():
    assert ray_executors.__all__ == [
        'RayActorExecutor',
        'RayJobExecutor',
        'RayPipelineExecutor',
        'RayTaskExecutor',
        'run',
        'shutdown_task_executors',
    ]
    assert RayTaskExecutor is RayActorExecutor


def test_job_executor_without_ray_names_the_extra():
    executor = RayJobExecutor('http://127.0.0.1:8265', SAMPLE)
    with pytest.raises(MissingDependencyError, match=HINT):
        executor.submit('add', {'a': 1, 'b': 2})


def test_actor_executor_without_ray_names_the_extra():
    with pytest.raises(MissingDependencyError, match=HINT):
        RayActorExecutor('auto', SAMPLE).execute('add', {'a': 1, 'b': 2})


def test_job_executor_defaults_and_aliases():
    assert RayJobExecutor().dashboard_url == 'http://127.0.0.1:8265'
    assert RayJobExecutor(dashboard_address='http://10.0.0.5:8265').dashboard_url == 'http://10.0.0.5:8265'
    assert RayJobExecutor('http://10.0.0.5:8265').python == 'python'
    assert RayJobExecutor('http://localhost:8265').python == sys.executable


def test_unimportable_action_cannot_be_submitted_as_a_job():
    from synapse_sdk.exceptions import ExecutorError
    from synapse_sdk.plugins import action

    @action(name='local_only')
    def local_only(params, ctx):
        return {}

    with pytest.raises(
        ExecutorError, match=r"^Action 'local_only' cannot run as a Ray job: it is not importable by name"
    ):
        RayJobExecutor().submit(local_only, {})
