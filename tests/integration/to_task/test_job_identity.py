"""Which tasks a re-run skips: the job is keyed on the backend's identity and the plugin's code, never a URL string.

Each case ends with every task annotated exactly once: two backends at the same URL are two jobs,
one backend under two spellings is one job, a fixed hook is a new job, and a task edited since the
last run is annotated again.
"""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import pytest
from tests.integration.conftest import ServerThread
from tests.integration.to_task.conftest import build_project
from tests.integration.to_task.in_process.conftest import annotation, make_project, messages, run_to_task

from synapse_sdk.clients import BackendClient, RetryPolicy
from synapse_sdk.local.app import create_app
from synapse_sdk.local.connect import connect_local
from synapse_sdk.local.setup import init_local
from synapse_sdk.plugins.actions.to_task import ToTaskAction

pytestmark = pytest.mark.integration


def shared_project(client: BackendClient, count: int) -> tuple[int, list[int]]:
    """A project of ``count`` tasks (a unique name: the session's backend is shared)."""
    project = build_project(client, count, lambda i: json.dumps(annotation(i)).encode(), name='identity')
    return project.id, project.task_ids


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))
    monkeypatch.delenv('SYNAPSE_TO_TASK_HTTP', raising=False)


def test_two_in_process_backends_at_the_same_url_are_two_jobs(tmp_path):
    """Every in-process backend is ``http://synapse.local/``; each has its own instance id."""
    for name in ('first', 'second'):
        with connect_local(tmp_path / name, in_process=True) as client:
            assert client.base_url == 'http://synapse.local/'
            project, ids = make_project(client, 5)  # the same project and task ids in both
            result, _ = run_to_task(client, project)
            assert (result.success_count, result.skipped_count) == (5, 0)
            assert [client.get_task(i)['data'] for i in ids] == [annotation(i) for i in range(5)]


class FixedPort:
    """Serves one state directory after another on the same 127.0.0.1 port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            self.port = probe.getsockname()[1]

    def serve(self, state_dir: Path) -> tuple[ServerThread, str, object]:
        token = init_local(state_dir).token
        app = create_app(state_dir)
        server = ServerThread(app)
        server.server.config.port = self.port
        return server, token, app


def test_two_backends_served_one_after_the_other_at_the_same_url_are_two_jobs(tmp_path):
    port = FixedPort()
    for name in ('a', 'b'):
        server, token, app = port.serve(tmp_path / name)
        with server as url:
            assert url == f'http://127.0.0.1:{port.port}/'
            with BackendClient(url, token, retry=RetryPolicy(attempts=2, backoff=0.01)) as client:
                project, ids = make_project(client, 4)
                result, _ = run_to_task(client, project)
                assert (result.success_count, result.skipped_count) == (4, 0)
                assert [client.get_task(i)['data'] for i in ids] == [annotation(i) for i in range(4)]
        app.close()


def test_one_backend_under_two_spellings_is_one_job(local_backend):
    spellings = [local_backend.base_url, local_backend.base_url.replace('127.0.0.1', 'localhost')]
    with BackendClient(spellings[0], local_backend.token) as client:
        project, ids = shared_project(client, 4)
        first, _ = run_to_task(client, project)
    with BackendClient(spellings[1], local_backend.token) as client:
        second, logger = run_to_task(client, project)
        assert [client.get_task(i)['data'] for i in ids] == [annotation(i) for i in range(4)]
    assert (first.success_count, second.success_count, second.skipped_count) == (4, 0, 4)
    assert messages(logger, 'info')[-1] == (
        'Skipped 4 task(s) that an earlier run of this job already annotated (they still hold what it wrote). '
        'To annotate them again, run with resume=false.'
    )


def plugin_folder(tmp_path: Path, tag: str) -> Path:
    """A plugin whose hook writes ``tag`` into every task."""
    folder = tmp_path / 'tagger'
    (folder / 'plugin').mkdir(parents=True, exist_ok=True)
    (folder / 'config.yaml').write_text(
        textwrap.dedent(
            """\
            name: Tagger
            code: tagger
            version: 1.0.0
            category: pre_annotation
            actions:
              to_task:
                entrypoint: plugin.to_task.Tagger
                method: job
            """
        )
    )
    (folder / 'plugin' / '__init__.py').write_text('')
    (folder / 'plugin' / 'to_task.py').write_text(
        textwrap.dedent(
            f"""\
            from synapse_sdk.plugins.actions.to_task import ToTaskAction


            class Tagger(ToTaskAction):
                def convert_data_from_file(self, primary_file_url, primary_file_name, data_file_url,
                                           data_file_name, task_data=None):
                    return {{**self.download_json(data_file_url), 'tag': {tag!r}}}
            """
        )
    )
    return folder


def test_fixing_a_hook_makes_a_new_job_and_the_old_one_is_remembered(tmp_path, local_backend):
    from synapse_sdk.plugins.runner import run_plugin

    with BackendClient(local_backend.base_url, local_backend.token) as client:
        project, ids = shared_project(client, 3)
        params = {'name': 'tag', 'project': project, 'agent': 1, 'target_specification_name': 'annotation_data'}
        for tag, expected in (('buggy', 3), ('buggy', 0), ('fixed', 3)):
            folder = plugin_folder(tmp_path, tag)
            result = run_plugin(str(folder), 'to_task', params, client=client)
            assert result.success_count == expected, tag
            assert {client.get_task(i)['data']['tag'] for i in ids} == {tag}


def test_a_task_edited_since_the_last_run_is_annotated_again(local_backend):
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        project, ids = shared_project(client, 3)
        run_to_task(client, project)
        client.annotate_task_data(ids[1], {'annotations': 'edited by hand'})
        again, _ = run_to_task(client, project)
        assert (again.success_count, again.skipped_count) == (1, 2)
        assert client.get_task(ids[1])['data'] == annotation(1)


def test_a_different_plugin_class_on_the_same_project_is_a_different_job(local_backend):
    class Renamed(ToTaskAction):
        def convert_data_from_file(self, primary_file_url, primary_file_name, data_file_url, data_file_name, **kw):
            return {**self.download_json(data_file_url), 'renamed': True}

    with BackendClient(local_backend.base_url, local_backend.token) as client:
        project, ids = shared_project(client, 2)
        run_to_task(client, project)
        result, _ = run_to_task(client, project, action=Renamed)
        assert result.success_count == 2
        assert all(client.get_task(i)['data']['renamed'] for i in ids)
        assert json.dumps(client.get_task(ids[0])['data'], sort_keys=True) == json.dumps(
            {**annotation(0), 'renamed': True}, sort_keys=True
        )
