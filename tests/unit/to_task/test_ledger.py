import json

from synapse_sdk.plugins.actions.to_task.ledger import Ledger, data_hash, job_key


def test_data_hash_is_canonical():
    assert data_hash({'a': 1, 'b': [1, 2]}) == data_hash({'b': [1, 2], 'a': 1})
    assert data_hash({'a': 1}) != data_hash({'a': 2})


def test_job_key_ignores_name_and_widths_but_not_what_is_annotated():
    base = ('http://h/', 1, {'status': 'pending'}, 'file', 'annotation_data', {}, 'dm_schema_v1')
    assert job_key(*base) == job_key(
        'http://h', 1, {'status': 'pending'}, 'file', 'annotation_data', {}, 'dm_schema_v1'
    )
    assert job_key(*base) != job_key('http://h/', 2, *base[2:])
    assert job_key(*base) != job_key(*base[:2], {'status': 'done'}, *base[3:])


def test_ledger_records_and_reloads_state(tmp_path):
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'h1')
    ledger.done(1, 'h1')
    ledger.intent(2, 'h2')  # killed before done
    ledger.failed(3, '500: boom')
    ledger.intent(4, 'h4')
    ledger.done(4, 'h4')
    ledger.failed(4, 'later failure')
    ledger.close()
    with path.open('a') as fh:
        fh.write('{"t": 5, "s": "do')  # a torn line from a SIGKILL
    state = Ledger(path).state
    assert state.done == {1, 4}
    assert state.intents == {2: 'h2'}
    assert state.failed == {3: '500: boom', 4: 'later failure'}
    assert all(json.loads(line) for line in path.read_text().splitlines()[:-1])


def test_ledger_for_key_lives_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path))
    ledger = Ledger.for_key('abc')
    ledger.close()
    assert ledger.path == tmp_path / 'to_task' / 'abc.jsonl'
