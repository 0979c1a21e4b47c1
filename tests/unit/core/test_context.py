import pytest

from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.context import PluginEnvironment, RuntimeContext


def test_from_environ_strips_prefix(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('PLUGIN_EPOCHS', '5')
    monkeypatch.setenv('PLUGIN_DEBUG', 'Yes')
    monkeypatch.setenv('OTHER', 'x')
    env = PluginEnvironment.from_environ('PLUGIN_')
    assert env.to_dict() == {'EPOCHS': '5', 'DEBUG': 'Yes'}
    assert env.get_int('EPOCHS') == 5
    assert env.get_bool('DEBUG') is True


def test_from_file_reads_toml_and_names_missing_file(tmp_path):
    path = tmp_path / 'env.toml'
    path.write_text('BATCH = 8\nNAME = "yolo"\n[nested]\nk = 1\n')
    env = PluginEnvironment.from_file(path)
    assert env['BATCH'] == 8 and env['NAME'] == 'yolo' and env['nested'] == {'k': 1}
    missing = tmp_path / 'missing.toml'
    with pytest.raises(FileNotFoundError, match=rf'^Config file not found: {missing}$'):
        PluginEnvironment.from_file(missing)


def test_merge_later_wins_both_as_method_and_classmethod_style():
    a = PluginEnvironment({'A': 1, 'B': 1})
    b = PluginEnvironment({'B': 2})
    assert a.merge(b, {'C': 3}).to_dict() == {'A': 1, 'B': 2, 'C': 3}
    assert PluginEnvironment.merge(a, b).to_dict() == {'A': 1, 'B': 2}
    assert a.to_dict() == {'A': 1, 'B': 1}  # unchanged


def test_typed_getters():
    env = PluginEnvironment({'I': '3', 'F': '0.5', 'T': 'TRUE', 'N': 'no', 'L': 'a, b,,c', 'S': 7})
    assert env.get_int('I') == 3
    assert env.get_float('F') == 0.5
    assert env.get_bool('T') is True and env.get_bool('N') is False
    assert env.get_list('L') == ['a', 'b', 'c']
    assert env.get_str('S') == '7'
    assert env.get('missing', 'd') == 'd'
    assert env.get_int('missing', 4) == 4
    assert 'I' in env and len(env) == 6


def test_typed_getter_errors_name_the_key():
    env = PluginEnvironment({'I': 'three', 'B': 'maybe'})
    with pytest.raises(ValueError, match=r"^Environment value I='three' is not an integer$"):
        env.get_int('I')
    with pytest.raises(ValueError, match=r"^Environment value B='maybe' is not a boolean"):
        env.get_bool('B')


def test_runtime_context_wraps_dict_env_and_defaults():
    ctx = RuntimeContext(logger=MemoryLogger(), env={'A': '1'})
    assert isinstance(ctx.env, PluginEnvironment)
    assert (ctx.job_id, ctx.client, ctx.agent_client, ctx.checkpoint, ctx.language) == (None,) * 5


def test_runtime_context_methods_emit_documented_events():
    logger = MemoryLogger()
    ctx = RuntimeContext(logger=logger, env=None)
    ctx.log('evt', {'a': 1}, file='/tmp/x')
    ctx.log_message('hi', 'success')
    ctx.log_message('careful', context='danger')
    ctx.log_dev_event('debug me', {'k': 'v'})
    ctx.end_log()
    got = [(e.level, e.event, e.data, e.file) for e in logger.entries]
    assert got == [
        (LogLevel.INFO, 'evt', {'a': 1}, '/tmp/x'),
        (LogLevel.SUCCESS, 'message', {'context': 'success', 'content': 'hi'}, None),
        (LogLevel.ERROR, 'message', {'context': 'error', 'content': 'careful'}, None),
        (LogLevel.DEBUG, 'dev_event', {'message': 'debug me', 'data': {'k': 'v'}}, None),
        (LogLevel.INFO, 'message', {'context': 'info', 'content': 'Plugin run is complete.'}, None),
    ]


def test_client_factory_is_called_once_on_first_use():
    calls = []

    def factory() -> str:
        calls.append(1)
        return 'client'

    ctx = RuntimeContext(logger=MemoryLogger(), client_factory=factory)
    assert calls == []
    assert ctx.client == 'client' and ctx.client == 'client'
    assert calls == [1]


def test_context_closes_only_the_client_its_factory_made():
    class Client:
        closed = 0

        def close(self) -> None:
            Client.closed += 1

    made = RuntimeContext(logger=MemoryLogger(), client_factory=Client)
    assert isinstance(made.client, Client)
    made.close()
    made.close()
    assert Client.closed == 1
    given = RuntimeContext(logger=MemoryLogger(), client=Client())
    given.close()
    assert Client.closed == 1
