"""Agent tokens are kept only as digests (older plain-text ones are migrated), and the state stays private."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest

from synapse_sdk.clients import AgentClient
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.inprocess import SyncASGITransport
from synapse_sdk.exceptions import AuthenticationError, NotFoundError
from synapse_sdk.local.app import create_app
from synapse_sdk.local.connect import IN_PROCESS_URL, connect_local, connect_local_agent
from synapse_sdk.local.setup import init_local

HOST = httpx.URL(IN_PROCESS_URL).host


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def agent_rows(state: Path) -> list[tuple[int, str | None, str]]:
    with sqlite3.connect(state / 'synapse.db') as db:
        return db.execute('SELECT id, url, token FROM agents ORDER BY id').fetchall()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def agent_answers(state: Path, token: str) -> object:
    """``system/`` of the local agent with ``token``, over the in-process app."""
    app = create_app(state)
    try:
        with AgentClient(f'{IN_PROCESS_URL}agent/', token, transport=SyncASGITransport(app, host=HOST)) as agent:
            return agent.system()['disk']['path']
    finally:
        app.close()


def test_the_database_keeps_only_digests_and_listings_carry_no_token(tmp_path: Path) -> None:
    state = tmp_path / 'local'
    init_local(state)
    token = (state / 'agent_token').read_text()
    assert (agent_rows(state), mode(state / 'agent_token')) == ([(1, None, sha256(token))], 0o600)
    with connect_local(state, in_process=True) as client:
        assert client.agents.list() == [
            {'id': 1, 'name': 'local', 'url': f'{IN_PROCESS_URL}agent/', 'status': 'connected'}
        ]
        created = client._call(Call('POST', 'agents/', json={'name': 'gpu-box'}), dict)
        remote = created.pop('token')  # shown once, to the authenticated caller that created it
        assert created == {'id': 2, 'name': 'gpu-box', 'url': f'{IN_PROCESS_URL}agent/', 'status': 'connected'}
        assert agent_rows(state)[1] == (2, None, sha256(remote))
        assert 'token' not in client.agents.get(2)
        connected = client.agents.connect(remote, {'url': 'http://gpu-box:8000/'})
        assert connected == {'id': 2, 'name': 'gpu-box', 'url': 'http://gpu-box:8000/', 'status': 'connected'}
        with pytest.raises(NotFoundError, match=r'^404: No agent has this token$'):
            client.agents.connect(sha256(remote))  # the digest itself is not a token
    assert agent_answers(state, token) == str(state)
    with pytest.raises(AuthenticationError, match=r'^401: Invalid agent token\.$'):
        agent_answers(state, sha256(token))


def test_plain_agent_tokens_of_an_older_database_are_hashed_on_open(tmp_path: Path) -> None:
    state = tmp_path / 'local'
    init_local(state)
    (state / 'agent_token').unlink()
    with sqlite3.connect(state / 'synapse.db') as db:  # what an older version wrote
        db.execute("UPDATE agents SET token = 'old-local-agent-token-0123' WHERE id = 1")
        db.execute(
            "INSERT INTO agents (name, url, token, status, created_at) VALUES ('box', 'http://box/', "
            "'old-remote-agent-token-456', 'connected', '2025-01-01 00:00:00')"
        )
    with connect_local_agent(state, in_process=True) as agent:  # opening migrates; the old token keeps working
        assert agent.system()['disk']['path'] == str(state)
    assert agent_rows(state) == [
        (1, None, sha256('old-local-agent-token-0123')),
        (2, 'http://box/', sha256('old-remote-agent-token-456')),
    ]
    assert ((state / 'agent_token').read_text(), mode(state / 'agent_token')) == ('old-local-agent-token-0123', 0o600)
    with connect_local(state, in_process=True) as client:
        assert client.agents.connect('old-remote-agent-token-456')['id'] == 2


def test_a_lost_agent_token_file_gets_a_new_token_and_the_old_one_stops_working(tmp_path: Path) -> None:
    state = tmp_path / 'local'
    init_local(state)
    old = (state / 'agent_token').read_text()
    (state / 'agent_token').unlink()
    with connect_local_agent(state, in_process=True) as agent:
        assert agent.system()['disk']['path'] == str(state)
    new = (state / 'agent_token').read_text()
    assert (new != old, agent_rows(state)) == (True, [(1, None, sha256(new))])
    with pytest.raises(AuthenticationError, match=r'^401: Invalid agent token\.$'):
        agent_answers(state, old)


def test_every_open_makes_an_existing_state_folder_private(tmp_path: Path) -> None:
    state = tmp_path / 'local'
    init_local(state)
    with connect_local(state, in_process=True) as client:
        client.projects.create('p')  # the WAL and shared-memory files exist while a client is open
        for name in ('synapse.db', 'synapse.db-wal', 'synapse.db-shm'):
            assert mode(state / name) == 0o600, name
    state.chmod(0o755)
    for name in ('synapse.db', 'synapse.db-wal', 'synapse.db-shm'):
        (state / name).touch()
        (state / name).chmod(0o644)
    app = create_app(state)  # every open (here: a server's) sets the modes again, as does `synapse local init`
    try:
        assert {name: mode(state / name) for name in ('', 'synapse.db', 'synapse.db-wal', 'synapse.db-shm')} == {
            '': 0o700,
            'synapse.db': 0o600,
            'synapse.db-wal': 0o600,
            'synapse.db-shm': 0o600,
        }
    finally:
        app.close()
    state.chmod(0o755)
    (state / 'synapse.db').chmod(0o644)
    init_local(state)  # already initialised: nothing is created
    assert (mode(state), mode(state / 'synapse.db')) == (0o700, 0o600)


def test_a_new_state_folder_inside_a_shared_one_is_private_from_the_start(tmp_path: Path) -> None:
    shared = tmp_path / 'shared'
    shared.mkdir(mode=0o755)
    init_local(shared)
    assert (mode(shared), mode(shared / 'synapse.db'), mode(shared / 'access_token')) == (0o700, 0o600, 0o600)
