"""Dry run, commit of what was approved, undo: over real HTTP (a counting proxy) against the local backend."""

from __future__ import annotations

import json

import pytest
from tests.integration.fault_proxy import Fault
from tests.integration.to_task.conftest import build_project, make_client
from tests.integration.to_task.test_to_task_http import messages, run_to_task

from synapse_sdk.plugins.actions.to_task.commit import RunMismatchError, commit_run, undo_run
from synapse_sdk.plugins.actions.to_task.record import RunNotFoundError, list_runs, open_run

pytestmark = pytest.mark.integration

LABELS = ('car', 'person', 'dog')


def boxes(i: int) -> bytes:
    objects = [
        {
            'id': f'b{i}-{k}',
            'tool': 'bounding_box',
            'classification': {'class': LABELS[(i + k) % 3]},
            'data': {'x': 10.0 * k, 'y': 5.0 + i, 'width': 20.0, 'height': 30.0},
            'confidence': round(0.05 + 0.3 * k, 2),
        }
        for k in range(3)
    ]
    return json.dumps({'annotations': {'image_1': objects}, 'annotationsData': {'image_1': []}}).encode()


def writes(fault_proxy) -> int:
    return sum(n for (method, _), n in fault_proxy.requests.items() if method not in ('GET', 'HEAD'))


def put_tasks(fault_proxy) -> set[int]:
    return {int(path.strip('/').split('/')[-2]) for path in fault_proxy.ok_puts if '/tasks/' in path}


def test_a_dry_run_writes_nothing_and_records_every_proposal(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 30, boxes)

    result, logger = run_to_task(url, local_backend.token, project.id, dry_run=True, sample=20)

    assert (result.dry_run, result.success_count, result.failed_count) == (True, 20, 0)
    assert writes(fault_proxy) == 0  # not one PUT, POST, PATCH or DELETE
    assert all(client.get_task(t)['data'] == {} for t in project.task_ids)
    with open_run(result.run_id) as record:
        entries = list(record.entries())
        meta = record.meta()
    assert [e.task_id for e in entries] == project.task_ids[:20]  # the first 20, in listing order
    assert all(e.proposed == project.expected[e.task_id] and e.current == {} for e in entries)
    assert (meta.dry_run, meta.status, meta.sample) == (True, 'finished', 20)
    assert result.summary is not None
    assert (result.summary['tasks'], result.summary['added'], result.summary['removed']) == (20, 60, 0)
    assert sum(c['added'] for c in result.summary['classes'].values()) == 60
    assert result.summary['confidence'][0] == 20 and result.summary['confidence'][3] == 20
    said = messages(logger)
    assert any(m.startswith(f'Dry run {result.run_id}: 20 task(s) proposed, nothing written') for m in said)
    assert f'Review it: synapse review {result.run_id}   then: synapse review commit {result.run_id}' in said
    assert [m.run_id for m in list_runs()] == [result.run_id]


def test_a_seeded_sample_is_reproducible_and_random(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 40, boxes)
    picked = []
    for _ in range(2):
        result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id, dry_run=True, sample=6,
                                sample_seed=7)  # fmt: skip
        with open_run(result.run_id) as record:
            picked.append([e.task_id for e in record.entries()])
    assert picked[0] == picked[1] and len(picked[0]) == 6
    assert picked[0] != project.task_ids[:6] and set(picked[0]) <= set(project.task_ids)


def test_commit_writes_exactly_the_approved_then_undo_puts_them_back(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 20, boxes)
    result, _ = run_to_task(url, local_backend.token, project.id, dry_run=True)
    approved = project.task_ids[:15]
    proxied = make_client(url, local_backend.token)
    with open_run(result.run_id[:12]) as record:  # a unique prefix is enough
        assert record.decide(approved, 'approved') == 15
        assert record.decide(project.task_ids[15:17], 'rejected') == 2
        seen = []
        report = commit_run(record, proxied, approved_only=True, on_progress=lambda d, t: seen.append((d, t)))
        assert (report.selected, report.written, report.conflicts, report.failed) == (15, 15, [], [])
        assert put_tasks(fault_proxy) == set(approved) and seen[-1] == (15, 15)
        for task_id in project.task_ids:
            expected = project.expected[task_id] if task_id in approved else {}
            assert client.get_task(task_id)['data'] == expected
        again = commit_run(record, proxied)  # nothing left to write: no request writes
        assert (again.selected, again.written) == (0, 0)
        assert record.counts()['written'] == 15

        fault_proxy.ok_puts.clear()
        undo = undo_run(record, proxied)
        assert (undo.selected, undo.restored, undo.conflicts) == (15, 15, [])
        assert put_tasks(fault_proxy) == set(approved)
        assert all(client.get_task(t)['data'] == {} for t in project.task_ids)
        assert record.counts()['undone'] == 15


def test_a_task_changed_since_the_dry_run_is_a_conflict_not_overwritten(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 4, boxes)
    result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id, dry_run=True)
    hand = {'annotations': {'image_1': []}, 'by': 'a human'}
    first, *rest = project.task_ids
    client.annotate_task_data(first, hand)
    with open_run(result.run_id) as record:
        record.decide(project.task_ids, 'approved')
        report = commit_run(record, client)
        assert report.written == 3
        assert [(c.task_id, c.reason) for c in report.conflicts] == [
            (first, 'the task changed since the dry run read it; not overwritten')
        ]
        assert client.get_task(first)['data'] == hand
        # one written task is edited by hand after the commit: undo restores the others, lists it
        client.annotate_task_data(rest[0], hand)
        undo = undo_run(record, client)
    assert undo.restored == 2 and [c.task_id for c in undo.conflicts] == [rest[0]]
    assert client.get_task(rest[0])['data'] == hand
    assert [client.get_task(t)['data'] for t in rest[1:]] == [{}, {}]


def test_a_commit_cut_by_server_errors_finishes_on_a_rerun_without_duplicates(local_backend, proxy):
    fault_proxy, url = proxy
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 6, boxes)
    result, _ = run_to_task(url, local_backend.token, project.id, dry_run=True)
    victim = project.task_ids[2]
    fault_proxy.faults.append(Fault('PUT', f'/tasks/{victim}/annotate_task_data/', 503, times=20))
    proxied = make_client(url, local_backend.token)
    with open_run(result.run_id) as record:
        record.decide(project.task_ids, 'approved')
        first = commit_run(record, proxied)
        assert first.written == 5 and [f.task_id for f in first.failed] == [victim]
        assert client.get_task(victim)['data'] == {}
        fault_proxy.faults.clear()
        fault_proxy.ok_puts.clear()
        second = commit_run(record, proxied)
    assert (second.selected, second.written, second.failed) == (1, 1, [])
    assert put_tasks(fault_proxy) == {victim}  # the five written before are not written again
    assert all(client.get_task(t)['data'] == project.expected[t] for t in project.task_ids)


def test_a_normal_run_is_recorded_and_can_be_undone(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 5, boxes)
    before = {'annotations': {'image_1': []}, 'note': 'kept'}
    client.annotate_task_data(project.task_ids[0], before)
    result, logger = run_to_task(local_backend.base_url, local_backend.token, project.id)
    assert result.success_count == 5 and not result.dry_run
    assert f'Run {result.run_id} recorded: undo it with `synapse to-task undo {result.run_id}`' in messages(logger)
    with open_run(result.run_id) as record:
        with pytest.raises(RunMismatchError, match='was not a dry run'):
            commit_run(record, client)
        report = undo_run(record, client)
    assert report.restored == 5
    assert client.get_task(project.task_ids[0])['data'] == before
    assert all(client.get_task(t)['data'] == {} for t in project.task_ids[1:])


def test_record_run_off_keeps_no_record_and_unknown_runs_say_where_they_looked(local_backend):
    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, boxes)
    result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id, record_run=False)
    assert result.run_id is None and list_runs() == []
    with pytest.raises(RunNotFoundError, match=r'No run .nope. in .*runs; `synapse review list`'):
        open_run('nope')


def test_a_run_is_not_committed_against_another_backend(local_backend, tmp_path):
    from tests.integration.conftest import ServerThread

    from synapse_sdk.local.app import create_app
    from synapse_sdk.local.setup import init_local

    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 2, boxes)
    result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id, dry_run=True)
    other_dir = tmp_path / 'other'
    token = init_local(other_dir).token
    app = create_app(other_dir)
    try:
        with ServerThread(app) as other_url, open_run(result.run_id) as record:
            with pytest.raises(RunMismatchError, match='was made against'):
                commit_run(record, make_client(other_url, token))
    finally:
        app.close()


def test_the_undo_command_restores_a_run_and_lists_conflicts(local_backend, monkeypatch):
    from typer.testing import CliRunner

    from synapse_sdk.cli.to_task import app

    client = make_client(local_backend.base_url, local_backend.token)
    project = build_project(client, 3, boxes)
    result, _ = run_to_task(local_backend.base_url, local_backend.token, project.id)
    hand = {'annotations': {'image_1': []}, 'by': 'a human'}
    client.annotate_task_data(project.task_ids[1], hand)
    monkeypatch.setenv('SYNAPSE_HOST', local_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', local_backend.token)

    out = CliRunner().invoke(app, ['undo', result.run_id, '--yes'])

    assert out.exit_code == 3, out.output
    assert f'Run {result.run_id}: 2 restored, 0 already as before, 1 conflicts, 0 failed' in out.output
    assert f'conflict: task {project.task_ids[1]}: the task changed since this run wrote it' in out.output
    again = CliRunner().invoke(app, ['undo', result.run_id, '--yes'])
    assert again.exit_code == 3 and '0 restored' in again.output  # the conflict stays a conflict
