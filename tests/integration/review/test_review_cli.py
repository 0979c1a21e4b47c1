"""`synapse review`: serve a run's page on 127.0.0.1, list the runs, commit what was approved."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.review.conftest import ReviewRun
from typer.testing import CliRunner

from synapse_sdk.cli.review import review_app
from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.actions.to_task.record import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _backend_env(local_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)
    monkeypatch.setenv('SYNAPSE_CONFIG_DIR', str(tmp_path / 'config'))
    monkeypatch.delenv('SYNAPSE_TENANT', raising=False)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(review_app, list(args), prog_name='synapse review')


def test_list_shows_the_runs_with_their_counts(review_run: ReviewRun):
    with open_run(review_run.run_id) as record:
        record.decide(review_run.task_ids[:1], 'approved')
    result = invoke('list', '--json')
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.output)
    assert (listed['run_id'], listed['dry_run'], listed['project']) == (review_run.run_id, True, review_run.project)
    assert {k: listed['counts'][k] for k in ('pending', 'approved', 'rejected', 'written')} == {
        'pending': 3,
        'approved': 1,
        'rejected': 0,
        'written': 0,
    }
    table = CliRunner().invoke(review_app, ['list'], env={'COLUMNS': '160'})
    assert table.exit_code == 0 and review_run.run_id in table.output and 'dry run' in table.output


def test_list_without_runs_says_where_it_looked(tmp_path: Path):
    result = invoke('list')
    assert result.exit_code == 0
    assert ' '.join(result.output.split()) == (
        f'No runs in {tmp_path / "state" / "runs"}; a ToTask run with dry_run: true records one.'
    )


def test_commit_writes_the_approved_tasks_and_reports_conflicts(review_run: ReviewRun, backend_client: BackendClient):
    ids = review_run.task_ids
    with open_run(review_run.run_id) as record:
        record.decide(ids[:3], 'approved')
    changed = {'annotations': {'image_1': []}, 'by': 'hand'}
    backend_client.annotate_task_data(ids[2], changed)  # changed since the dry run read it
    result = invoke('commit', review_run.run_id[:12])
    assert result.exit_code == 3, result.output
    assert result.output.splitlines() == [
        f'Run {review_run.run_id}: 3 selected, 2 written, 0 already in place, 1 conflicts, 0 failed',
        f'  conflict: task {ids[2]}: the task changed since the dry run read it; not overwritten',
    ]
    assert [backend_client.get_task(t)['data'] for t in ids] == [
        review_run.proposed[ids[0]],
        review_run.proposed[ids[1]],
        changed,
        review_run.current[ids[3]],
    ]


def test_commit_all_pending_writes_every_task_not_rejected(review_run: ReviewRun, backend_client: BackendClient):
    ids = review_run.task_ids
    with open_run(review_run.run_id) as record:
        record.decide(ids[:1], 'rejected')
    result = invoke('commit', review_run.run_id, '--all-pending')
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f'Run {review_run.run_id}: 3 selected, 3 written, ')
    assert backend_client.get_task(ids[0])['data'] == review_run.current[ids[0]]
    assert [backend_client.get_task(t)['data'] for t in ids[1:]] == [review_run.proposed[t] for t in ids[1:]]


def test_an_unknown_run_is_one_error_line():
    result = CliRunner().invoke(review_app, ['commit', 'nope'])
    assert result.exit_code == 1
    assert ' '.join(result.output.split()).startswith("Error: No run 'nope' in ")


def _serve(run_id: str, *extra: str) -> subprocess.Popen[str]:
    code = 'from synapse_sdk.cli.review import review_app; review_app(prog_name="synapse review")'
    return subprocess.Popen(
        [sys.executable, '-c', code, run_id, '--no-open', *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
    )


def test_review_run_serves_the_page_on_loopback_and_prints_its_link(review_run: ReviewRun):
    server = _serve(review_run.run_id, '--port', '0')
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith('Review page: http://127.0.0.1:'), line + (server.stderr.read() if server.stderr else '')
        url = line.split(': ', 1)[1].strip()
        assert url.split('?', 1)[0].endswith(f'/review/{review_run.run_id}/')
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(url)
            assert page.status_code == 200 and review_run.run_id in page.text
            tasks = browser.get(url.split('?', 1)[0] + 'api/tasks').json()
            assert [t['task_id'] for t in tasks['tasks']] == review_run.task_ids
            image = browser.get(url.split('?', 1)[0] + f'image/{review_run.task_ids[0]}')
            assert image.content == review_run.images[review_run.task_ids[0]]
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down, then the CLI's usual 130
        _, err = server.communicate(timeout=20)
    assert (server.returncode, err.strip()) == (130, 'Interrupted')


def test_a_port_in_use_is_named_in_the_error(review_run: ReviewRun):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _serve(review_run.run_id, '--port', str(port))
        _, err = server.communicate(timeout=60)
    assert server.returncode == 1
    assert ' '.join(err.split()) == (
        f'Error: --port: cannot listen on 127.0.0.1:{port} (Address already in use); pass another port, or 0'
    )


def test_a_run_id_as_first_word_opens_that_run():
    result = invoke('20000101-000000-abcdef', '--no-open', '--port', '0')
    assert result.exit_code == 1
    assert ' '.join(result.output.split()).startswith("Error: No run '20000101-000000-abcdef' in ")
    usage = invoke('--help')
    assert usage.exit_code == 0 and all(name in usage.output for name in ('open', 'list', 'commit'))
