import io
import json

import pytest

from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers import ConsoleLogger, JsonLinesLogger, MemoryLogger, NoOpLogger


def test_log_requires_a_mapping_and_refuses_after_finish():
    logger = MemoryLogger()
    with pytest.raises(TypeError, match=r'^data must be a dict'):
        logger.log('info', 'evt', ['not', 'a', 'dict'])  # type: ignore[arg-type]
    logger.finish()
    with pytest.raises(RuntimeError, match=r'^Cannot log to a finished logger$'):
        logger.info('late')
    with pytest.raises(RuntimeError, match=r'^Cannot log to a finished logger$'):
        logger.set_progress(1, 2)


def test_level_helpers_log_same_named_events():
    logger = MemoryLogger()
    logger.debug('d')
    logger.info('i')
    logger.warning('w')
    logger.error('e')
    logger.critical('c')
    assert [(e.level, e.event, e.data) for e in logger.entries] == [
        (LogLevel.DEBUG, 'debug', {'message': 'd'}),
        (LogLevel.INFO, 'info', {'message': 'i'}),
        (LogLevel.WARNING, 'warning', {'message': 'w'}),
        (LogLevel.ERROR, 'error', {'message': 'e'}),
        (LogLevel.CRITICAL, 'critical', {'message': 'c'}),
    ]


def test_progress_validation_messages():
    logger = NoOpLogger()
    with pytest.raises(ValueError, match=r'^total must be > 0, got 0$'):
        logger.set_progress(0, 0)
    with pytest.raises(ValueError, match=r'^current must be >= 0, got -1$'):
        logger.set_progress(-1, 5)


def test_progress_beyond_total_is_clamped_with_one_warning_per_step():
    logger = MemoryLogger()
    first = logger.set_progress(12, 10, 'train')
    logger.set_progress(15, 10, 'train')
    logger.set_progress(11, 10, 'eval')
    assert (first.current, first.total, first.percent) == (10, 10, 100.0)
    warnings = [e.data['message'] for e in logger.events('warning')]
    assert warnings == [
        "Progress 12/10 for step 'train' exceeds the total; clamped to 10",
        "Progress 11/10 for step 'eval' exceeds the total; clamped to 10",
    ]


def test_progress_record_percent_and_eta():
    logger = NoOpLogger()
    start = logger.set_progress(0, 3, 's')
    assert start.eta_seconds is None and start.percent == 0.0
    rec = logger.set_progress(1, 3, 's')
    assert rec.percent == 33.33
    assert rec.eta_seconds is not None and rec.eta_seconds >= 0


def test_progress_step_key_resolution():
    logger = NoOpLogger()
    logger.set_progress(1, 2)
    assert logger.get_progress('__default__').current == 1
    logger.set_step('train')
    logger.set_progress(2, 4)
    assert logger.get_progress().current == 2
    assert set(logger.progress) == {'__default__', 'train'}


def test_metrics_merge_per_step_and_need_a_step():
    logger = NoOpLogger()
    with pytest.raises(ValueError, match=r'^step must be specified or set via set_step\(\)$'):
        logger.set_metrics({'a': 1})
    logger.set_metrics({'a': 1}, 'train')
    assert logger.set_metrics({'b': 2}, 'train') == {'a': 1, 'b': 2}
    logger.set_step('train')
    logger.set_metrics({'a': 3})
    assert logger.metrics == {'train': {'a': 3, 'b': 2}}


def test_overall_progress_never_decreases():
    logger = NoOpLogger()
    logger.set_overall_progress(40)
    logger.set_overall_progress(30)
    logger.set_overall_progress(140)
    assert logger.overall_percent == 100.0


def test_console_logger_prints_messages_progress_with_eta_and_hides_debug():
    stream = io.StringIO()
    logger = ConsoleLogger(stream=stream, progress_interval=0)
    logger.log('info', 'message', {'context': 'info', 'content': 'Hello'})
    logger.debug('hidden')
    logger.set_progress(5, 10, 'download')
    logger.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == 'Hello'
    assert lines[1].startswith('[download] Progress: 50.0% (5/10) ETA ')
    assert len(lines) == 2
    assert '\x1b[' not in stream.getvalue()  # no colour when not a terminal


def test_json_lines_logger_writes_one_object_per_line(tmp_path):
    path = tmp_path / 'logs' / 'run.jsonl'
    logger = JsonLinesLogger(path)
    logger.log('warning', 'evt', {'k': 1}, step='s')
    logger.set_progress(1, 2, 's')
    logger.set_metrics({'loss': 0.1}, 's')
    logger.finish()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r['type'] for r in records] == ['event', 'progress', 'metrics']
    assert records[0]['event'] == 'evt' and records[0]['level'] == 'warning' and records[0]['step'] == 's'
    assert records[1]['percent'] == 50.0
    assert records[2]['metrics'] == {'loss': 0.1}
