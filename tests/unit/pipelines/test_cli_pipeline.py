"""`synapse pipeline list|show` over the local backend (the typer app itself)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_actions import First, Second, Third
from typer.testing import CliRunner

from synapse_sdk.cli.pipeline import app
from synapse_sdk.plugins.pipelines import LocalPipelineExecutor


def _failed_then_resumed(client, work_dir: Path) -> tuple[str, str]:
    executor = LocalPipelineExecutor(client=client)
    first = executor.submit([First, Second, Third], {'work_dir': str(work_dir), 'n': 1, 'fail': True}, name='cli')
    executor.wait(first)
    second = executor.submit([First, Second, Third], {'fail': False}, name='cli', resume_from=first)
    executor.wait(second)
    return first, second


def test_list_and_show_print_the_recorded_runs(client, tmp_path: Path):
    first, second = _failed_then_resumed(client, tmp_path)
    runner = CliRunner()

    listed = runner.invoke(app, ['list', '--json'])
    assert listed.exit_code == 0, listed.output
    assert [(r['id'], r['status']) for r in json.loads(listed.output)] == [
        (int(second), 'completed'),
        (int(first), 'failed'),
    ]

    table = runner.invoke(app, ['list', '--status', 'failed'])
    assert table.exit_code == 0, table.output
    assert 'first → second → third' in table.output and 'failed' in table.output and 'completed' not in table.output

    shown = runner.invoke(app, ['show', first])
    assert shown.exit_code == 0, shown.output
    assert f'Pipeline run {first} (cli): failed' in shown.output
    assert "error: Action 'second' failed: second broke" in shown.output

    resumed = runner.invoke(app, ['show', second, '--json'])
    body = json.loads(resumed.output)
    assert body['resumed_from'] == int(first)
    assert [c['action_name'] for c in body['checkpoints']] == ['first', 'second', 'third']
    assert 'from checkpoint' in runner.invoke(app, ['show', second]).output


def test_show_of_an_unknown_run_fails_naming_it(client):
    result = CliRunner().invoke(app, ['show', '41'])
    assert result.exit_code != 0
    assert 'Pipeline run 41 not found' in result.output
