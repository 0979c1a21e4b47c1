"""Ray-free helpers of the Ray executors: token discovery, placement checks, the log pump."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from synapse_sdk.plugins.executors.ray._auth import (
    TOKEN_FIX,
    auth_failure_hint,
    is_auth_failure,
    read_token,
    token_source,
)
from synapse_sdk.plugins.executors.ray._logs import LogPump
from synapse_sdk.plugins.executors.ray._placement import unplaceable

USES = 'the cluster uses Ray token authentication'


def test_token_source_prefers_the_variable_then_the_file(tmp_path):
    home = tmp_path / 'home'
    (home / '.ray').mkdir(parents=True)
    assert (token_source({'HOME': str(home)}), read_token({'HOME': str(home)})) == (None, None)
    (home / '.ray' / 'auth_token').write_text('file-token\n')
    assert token_source({'HOME': str(home)}) == str(home / '.ray' / 'auth_token')
    assert read_token({'HOME': str(home)}) == 'file-token'
    both = {'HOME': str(home), 'RAY_AUTH_TOKEN': ' env-token '}
    assert (token_source(both), read_token(both)) == ('RAY_AUTH_TOKEN', 'env-token')


def _connect_failure_error() -> ConnectionError:
    """The chain Ray 2.60's ``ray.init(address=...)`` raises when a token cluster refuses the client."""
    try:
        try:
            raise RuntimeError(
                'Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n'
                'ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing '
                'or incorrect.'
            )
        except RuntimeError as inner:
            raise ConnectionError('Failed to connect to Ray cluster at 127.0.0.1:6379') from inner
    except ConnectionError as outer:
        return outer


def test_auth_refusals_are_recognised_through_the_exception_chain():
    assert is_auth_failure(_connect_failure_error())
    assert not is_auth_failure(ConnectionError('Failed to connect to Ray cluster at 127.0.0.1:6379'))


def test_auth_hint_names_the_situation_and_the_fix(tmp_path):
    assert auth_failure_hint({'HOME': str(tmp_path)}) == (f'{USES} and no token was found on this machine: {TOKEN_FIX}')
    assert auth_failure_hint({'HOME': str(tmp_path), 'RAY_AUTH_TOKEN': 'x'}) == (
        f"{USES} and refused the token from RAY_AUTH_TOKEN: use the cluster's token ({TOKEN_FIX})"
    )
    assert auth_failure_hint({'HOME': str(tmp_path), 'RAY_AUTH_MODE': 'disabled'}) == (
        f'{USES} but RAY_AUTH_MODE=disabled is set here: unset it and {TOKEN_FIX}'
    )
    assert TOKEN_FIX == (
        "set RAY_AUTH_TOKEN to the cluster's token or save it in ~/.ray/auth_token "
        '(`ray get-auth-token` on the head node prints it)'
    )


NODES = [
    {'Alive': True, 'Resources': {'CPU': 2.0, 'memory': 4e9}},
    {'Alive': True, 'Resources': {'CPU': 8.0, 'GPU': 1.0}},
    {'Alive': False, 'Resources': {'CPU': 64.0, 'GPU': 8.0}},
]


@pytest.mark.parametrize(
    ('asked', 'problem'),
    [
        ({'num_cpus': None, 'num_gpus': None, 'memory': None}, None),
        ({'num_cpus': 8, 'num_gpus': 1}, None),
        ({'num_gpus': 0.5, 'num_cpus': 0}, None),
        (
            {'num_gpus': 2},
            'it asks num_gpus=2, and no node of the cluster has that (cluster totals: GPU 1)',
        ),
        (
            {'num_cpus': 4, 'memory': 1e9},  # each resource exists, but not on one node
            'it asks num_cpus=4, memory=0.931 GiB, and no node of the cluster has that '
            '(cluster totals: CPU 10, memory 3.73 GiB)',
        ),
    ],
)
def test_unplaceable_compares_the_ask_with_every_alive_node(asked, problem):
    assert unplaceable(NODES, asked) == problem


def _pump_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == 'pump-under-test']


def test_log_pump_delivers_chunks_then_the_end():
    async def source() -> AsyncIterator[str]:
        for chunk in ('a', 'b'):
            yield chunk

    pump = LogPump(source, name='pump-under-test').start()
    assert [pump.get(), pump.get(), pump.get()] == [('chunk', 'a'), ('chunk', 'b'), ('end', None)]
    pump.close()
    assert _pump_threads() == []


def test_closing_the_pump_early_cancels_a_source_that_waits_for_ever():
    cancelled = threading.Event()

    async def source() -> AsyncIterator[str]:
        yield 'first'
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield 'never'

    pump = LogPump(source, name='pump-under-test').start()
    assert pump.get() == ('chunk', 'first')
    started = time.monotonic()
    pump.close()
    assert time.monotonic() - started < 2
    assert cancelled.is_set()
    assert _pump_threads() == []


def test_closing_a_pump_whose_reader_stopped_reading_does_not_hang():
    async def source() -> AsyncIterator[str]:
        while True:
            yield 'x'
            await asyncio.sleep(0)

    pump = LogPump(source, name='pump-under-test', maxsize=2).start()
    assert pump.get() == ('chunk', 'x')
    time.sleep(0.1)  # the queue fills up: the pump waits to put
    pump.close()
    assert _pump_threads() == []


def test_source_errors_reach_the_reader():
    async def source() -> AsyncIterator[str]:
        raise RuntimeError('websocket closed')
        yield ''

    pump = LogPump(source, name='pump-under-test').start()
    kind, error = pump.get()
    assert (kind, str(error)) == ('error', 'websocket closed')
    pump.close()


def test_connection_failures_say_whether_the_token_was_the_problem(tmp_path, monkeypatch):
    from synapse_sdk.plugins.executors.ray._connect import connect_failure as _connect_failure

    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('RAY_AUTH_TOKEN', raising=False)
    monkeypatch.delenv('RAY_AUTH_MODE', raising=False)
    assert _connect_failure('127.0.0.1:6379', _connect_failure_error()) == (
        f"Cannot connect to the Ray cluster at '127.0.0.1:6379': {USES} and no token was found on this machine: "
        f'{TOKEN_FIX}'
    )
    assert _connect_failure('127.0.0.1:1', ConnectionError('Failed to connect to Ray cluster at 127.0.0.1:1')) == (
        "Cannot connect to the Ray cluster at '127.0.0.1:1': Failed to connect to Ray cluster at 127.0.0.1:1. "
        'Is it running? Start one with `ray start --head` or pass its address'
    )
