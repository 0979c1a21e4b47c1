import errno
import hashlib
import json
import os

import pytest

from synapse_sdk.plugins.actions.to_task import ToTaskAction
from synapse_sdk.plugins.actions.to_task.action import plugin_identity
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, data_hash
from synapse_sdk.plugins.actions.to_task.steps import ledger_key
from synapse_sdk.plugins.executors._run import validate_params
from synapse_sdk.utils.urls import canonical_url


def test_data_hash_is_canonical():
    assert data_hash({'a': 1, 'b': [1, 2]}) == data_hash({'b': [1, 2], 'a': 1})
    assert data_hash({'a': 1}) != data_hash({'a': 2})


BASE = {
    'name': 'job',
    'project': 1,
    'agent': 1,
    'task_filters': {'status': 'pending'},
    'target_specification_name': 'annotation_data',
}


PLUGIN = {'class': 'plugin.to_task.MyToTask', 'code': 'my-plugin', 'version': '1.0.0', 'hooks': 'ab12'}


def key_of(host: str = 'http://backend.test/', *, plugin=PLUGIN, backend: str | None = None, **changes) -> str:
    """The ledger key of params ``BASE`` + ``changes`` on the backend at ``host`` (it serves no identity)."""
    params = validate_params(ToTaskAction, {**BASE, **changes})
    return ledger_key(params, backend or f'url:{canonical_url(host)}', plugin)


def test_job_key_is_the_documented_hash():
    expected = data_hash(
        [
            'url:http://backend.test/',
            1,
            {'status': 'pending'},
            'file',
            'annotation_data',
            {},
            'dm_schema_v1',
            PLUGIN,
        ]
    )
    assert key_of() == expected


def test_job_key_rests_on_the_backends_identity_not_its_spelling():
    assert key_of('http://127.0.0.1:8000/') == key_of('http://LOCALHOST:8000') == key_of('http://[::1]:8000//')
    assert key_of('https://api.example.com:443/') == key_of('https://api.example.com')
    same_url_other_backend = key_of(backend='instance:2222'), key_of(backend='instance:1111')
    assert same_url_other_backend[0] != same_url_other_backend[1]


@pytest.mark.parametrize(
    'plugin',
    [
        {**PLUGIN, 'hooks': 'cd34'},  # a hook's source changed
        {**PLUGIN, 'version': '1.0.1'},
        {**PLUGIN, 'code': 'other-plugin'},
        {**PLUGIN, 'class': 'plugin.to_task.Other'},
    ],
)
def test_job_key_changes_with_the_plugin_code(plugin):
    assert key_of(plugin=plugin) != key_of()


def test_plugin_identity_hashes_the_hooks_source_and_reads_the_plugins_config(tmp_path):
    import importlib.util

    folder = tmp_path / 'demo-plugin'
    (folder / 'plugin').mkdir(parents=True)
    (folder / 'config.yaml').write_text('name: Demo\ncode: demo-plugin\nversion: 2.1.0\n')
    source = folder / 'plugin' / 'hooks_demo.py'
    source.write_text(
        'from synapse_sdk.plugins.actions.to_task import ToTaskAction\n'
        'class Demo(ToTaskAction):\n'
        '    def convert_data_from_file(self, *args, **kwargs):\n'
        '        return {}\n'
    )
    spec = importlib.util.spec_from_file_location('hooks_demo', source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    identity = plugin_identity(module.Demo)
    assert identity == {
        'class': 'hooks_demo.Demo',
        'code': 'demo-plugin',
        'version': '2.1.0',
        'hooks': hashlib.sha256(source.read_bytes()).hexdigest(),
    }
    assert plugin_identity(ToTaskAction) == {
        'class': 'synapse_sdk.plugins.actions.to_task.action.ToTaskAction',
        'code': None,
        'version': None,
        'hooks': None,
    }


@pytest.mark.parametrize(
    'changes',
    [
        {'name': 'another-name'},
        {'description': 'a note'},
        {'concurrency': 64},
        {'batch_size': 8},
        {'pre_processor_timeout_seconds': 5},
        {'pre_processor_poll_seconds': 1},
        {'resume': False},
        {'retry_failed': True},
        {'annotate_retries': 0},
        {'agent': 9},
        {
            'task_filters': {'status': 'pending', 'limit': '5'},
            '_same_as': {'task_filters': {'status': 'pending', 'limit': 5}},
        },
    ],
)
def test_job_key_ignores_how_the_job_runs(changes):
    same_as = changes.pop('_same_as', {})
    assert key_of(**changes) == key_of(**same_as)


@pytest.mark.parametrize(
    ('host', 'changes'),
    [
        ('http://other.test/', {}),
        ('http://backend.test:8080/', {}),
        ('http://backend.test/', {'project': 2}),
        ('http://backend.test/', {'task_filters': {'status': 'done'}}),
        ('http://backend.test/', {'task_filters': {'status': 'pending', 'limit': 5}}),
        ('http://backend.test/', {'target_specification_name': 'other_spec'}),
        ('http://backend.test/', {'pre_processor_params': {'confidence': 0.5}}),
        ('http://backend.test/', {'schema': 'any'}),
        ('http://backend.test/', {'method': 'inference', 'pre_processor': 3, 'model': 4}),
    ],
)
def test_job_key_changes_with_what_is_annotated(host, changes):
    assert key_of(host, **changes) != key_of()


def test_job_key_of_inference_depends_on_pre_processor_and_model():
    inference = {'method': 'inference', 'pre_processor': 3, 'model': 4}
    assert key_of(**inference) != key_of(**{**inference, 'pre_processor': 5})
    assert key_of(**inference) != key_of(**{**inference, 'model': 5})
    assert key_of(**inference) == key_of(**{**inference, 'batch_size': 16, 'target_specification_name': 'ignored'})


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
    assert state.done == {1: 'h1', 4: 'h4'}
    assert state.intents == {2: 'h2'}
    assert state.failed == {3: '500: boom', 4: 'later failure'}
    assert all(json.loads(line) for line in path.read_text().splitlines()[:-1])


def test_ledger_for_key_lives_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path))
    ledger = Ledger.for_key('abc')
    ledger.close()
    assert ledger.path == tmp_path / 'to_task' / 'abc.jsonl'


def read_records(path):
    return [json.loads(line) for line in path.read_bytes().split(b'\n') if line]


def test_a_torn_last_line_is_cut_so_the_next_record_is_kept(tmp_path):
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'aa')
    ledger.done(1, 'aa')
    ledger.close()
    with path.open('ab') as fh:
        fh.write(b'{"t": 2, "s": "inte')  # SIGKILL mid-write: no newline
    ledger = Ledger(path)
    assert ledger.state.intents == {}
    ledger.intent(3, 'cc')
    ledger.close()
    assert read_records(path) == [
        {'t': 1, 's': 'intent', 'h': 'aa'},
        {'t': 1, 's': 'done', 'h': 'aa'},
        {'t': 3, 's': 'intent', 'h': 'cc'},
    ]
    assert path.read_bytes().endswith(b'\n')
    assert Ledger(path).state.intents == {3: 'cc'}


def test_a_whole_last_record_without_newline_is_kept(tmp_path):
    path = tmp_path / 'job.jsonl'
    path.write_bytes(b'{"t":1,"s":"intent","h":"aa"}\n{"t":1,"s":"done","h":"aa"}')
    ledger = Ledger(path)
    assert ledger.state.done == {1: 'aa'}
    ledger.failed(2, '500: boom')
    ledger.close()
    assert read_records(path)[1:] == [{'t': 1, 's': 'done', 'h': 'aa'}, {'t': 2, 's': 'failed', 'e': '500: boom'}]
    assert Ledger(path).state.failed == {2: '500: boom'}


@pytest.mark.parametrize('content', [b'{"t": 7, "s": "do', b'7', b'\xff\xfe garbage'])
def test_a_ledger_holding_only_a_torn_line_starts_empty(tmp_path, content):
    path = tmp_path / 'job.jsonl'
    path.write_bytes(content)
    ledger = Ledger(path)
    assert (ledger.state.done, ledger.state.intents, ledger.state.failed) == ({}, {}, {})
    ledger.intent(8, 'hh')
    ledger.close()
    assert path.read_bytes() == b'{"t":8,"s":"intent","h":"hh"}\n'


def test_a_torn_line_longer_than_one_read_window_is_cut(tmp_path):
    path = tmp_path / 'job.jsonl'
    path.write_bytes(b'{"t":1,"s":"done","h":"aa"}\n' + b'{"t":2,"s":"failed","e":"' + b'x' * 10_000)
    Ledger(path).close()
    assert path.read_bytes() == b'{"t":1,"s":"done","h":"aa"}\n'


def test_done_lines_reach_the_file_with_the_next_intent_or_at_close(tmp_path):
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'aa')
    ledger.done(1, 'aa')
    assert read_records(path) == [{'t': 1, 's': 'intent', 'h': 'aa'}]  # the intent is on disk before the PUT
    ledger.intent(2, 'bb')
    assert [r['t'] for r in read_records(path)] == [1, 1, 2]
    ledger.done(2, 'bb')
    ledger.close()
    assert read_records(path)[-1] == {'t': 2, 's': 'done', 'h': 'bb'}


def test_failures_are_on_disk_before_failed_returns(tmp_path):
    """Every task failing (no intent in between): a kill loses none, so ``retry_failed`` finds them all."""
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'aa')
    ledger.done(1, 'aa')
    for task_id in range(2, 302):
        ledger.failed(task_id, 'Failed to download JSON from URL')
    # not closed: what a SIGKILL leaves
    assert read_records(path)[:3] == [
        {'t': 1, 's': 'intent', 'h': 'aa'},
        {'t': 1, 's': 'done', 'h': 'aa'},
        {'t': 2, 's': 'failed', 'e': 'Failed to download JSON from URL'},
    ]
    assert Ledger(path).state.failed == dict.fromkeys(range(2, 302), 'Failed to download JSON from URL')
    ledger.close()


class FlakyWrite:
    """``os.write`` playing out ``script`` on the ledger file: 'error' raises, a number writes that many bytes."""

    def __init__(self, path, script):
        self.path, self.script = path, list(script)
        self.real = os.write

    def __call__(self, fd, data):
        if not self.script or not os.path.samestat(os.fstat(fd), os.stat(self.path)):
            return self.real(fd, data)
        step = self.script.pop(0)
        if step == 'error':
            raise OSError(errno.ENOSPC, 'No space left on device')
        return self.real(fd, bytes(data[:step]))


def test_a_failed_write_keeps_the_queued_lines(tmp_path, monkeypatch):
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'aa')
    ledger.done(1, 'aa')
    monkeypatch.setattr(os, 'write', FlakyWrite(path, ['error']))
    with pytest.raises(OSError, match=r'No space left on device'):
        ledger.intent(2, 'bb')
    assert read_records(path) == [{'t': 1, 's': 'intent', 'h': 'aa'}]
    ledger.intent(3, 'cc')
    ledger.close()
    assert read_records(path) == [
        {'t': 1, 's': 'intent', 'h': 'aa'},
        {'t': 1, 's': 'done', 'h': 'aa'},
        {'t': 2, 's': 'intent', 'h': 'bb'},
        {'t': 3, 's': 'intent', 'h': 'cc'},
    ]


@pytest.mark.parametrize('then', [[], ['error']], ids=['ended-by-next-write', 'ending-also-failed-once'])
def test_a_partial_write_leaves_no_line_glued_to_the_next(tmp_path, monkeypatch, then):
    path = tmp_path / 'job.jsonl'
    ledger = Ledger(path)
    ledger.intent(1, 'aa')
    ledger.done(1, 'aa')
    done_line = b'{"t":1,"s":"done","h":"aa"}\n'
    # the batch is done(1) + intent(2): 10 bytes of intent(2) reach the file, then the disk is full
    monkeypatch.setattr(os, 'write', FlakyWrite(path, [len(done_line) + 10, 'error', *then]))
    with pytest.raises(OSError, match=r'No space left on device'):
        ledger.intent(2, 'bb')
    assert path.read_bytes().endswith(done_line + b'{"t":2,"s"')
    for _ in then:
        with pytest.raises(OSError, match=r'No space left on device'):
            ledger.failed(3, 'boom')
    ledger.failed(4, 'boom')
    ledger.close()
    lines = path.read_bytes().split(b'\n')
    assert lines[2] == b'{"t":2,"s"'  # the torn fragment, ended: a line of its own, skipped on load
    records = [json.loads(line) for line in lines[:2] + lines[3:] if line]
    assert records == [
        {'t': 1, 's': 'intent', 'h': 'aa'},
        {'t': 1, 's': 'done', 'h': 'aa'},
        {'t': 2, 's': 'intent', 'h': 'bb'},
        *([{'t': 3, 's': 'failed', 'e': 'boom'}] if then else []),
        {'t': 4, 's': 'failed', 'e': 'boom'},
    ]
    state = Ledger(path).state
    assert (state.done, state.intents) == ({1: 'aa'}, {2: 'bb'})
    assert state.failed == ({3: 'boom', 4: 'boom'} if then else {4: 'boom'})
