"""The saved agent selection (the config file's `agent` entry) and reading a cluster snapshot."""

from __future__ import annotations

import json
import stat

import pytest

from synapse_sdk.cli._agents import node_rows
from synapse_sdk.clients.agent_selection import SavedAgent, clear_agent, save_agent, selected_agent
from synapse_sdk.clients.credentials import config_path, read_config, write_config


def test_save_select_and_clear_keep_the_other_keys() -> None:
    write_config({'host': 'https://api.example.test/', 'access_token': 'tok-123456'})
    assert selected_agent() is None
    agent = SavedAgent(
        id=3, name='gpu', url='https://gpu.test/', token='agent-secret-1', backend='https://api.example.test/'
    )
    file = save_agent(agent)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert json.loads(file.read_text())['agent'] == {
        'id': 3,
        'name': 'gpu',
        'url': 'https://gpu.test/',
        'token': 'agent-secret-1',
        'backend': 'https://api.example.test/',
    }
    assert selected_agent() == agent
    assert 'agent-secret-1' not in repr(agent)
    assert agent.public() == {
        'id': 3,
        'name': 'gpu',
        'url': 'https://gpu.test/',
        'backend': 'https://api.example.test/',
    }
    assert clear_agent() is True
    assert read_config() == {'host': 'https://api.example.test/', 'access_token': 'tok-123456'}
    assert clear_agent() is False


def test_selected_on_compares_backends() -> None:
    agent = SavedAgent(id=1, backend='https://api.example.test')
    assert agent.selected_on('https://api.example.test/')
    assert not agent.selected_on('https://other.test/')
    assert not agent.selected_on(None)
    assert SavedAgent(id=1).selected_on(None)


def test_a_broken_entry_names_the_field_and_the_fix() -> None:
    write_config({'agent': {'name': 'no id'}})
    with pytest.raises(
        ValueError, match=r"The 'agent\.id' entry of .*config\.json is not a saved agent \(Field required\)"
    ):
        selected_agent()
    write_config({'agent': 'gpu'})
    with pytest.raises(ValueError, match=r'run `synapse agent select ID` again') as info:
        selected_agent()
    assert str(config_path()) in str(info.value)


def test_node_rows_read_local_and_ray_style_keys() -> None:
    local = {
        'total': {'cpu': 8, 'gpu': 1, 'memory_bytes': 16 * 2**30},
        'nodes': [{'hostname': 'box', 'alive': True, 'resources': {'cpu': 8, 'gpu': 1, 'memory_bytes': 16 * 2**30}}],
    }
    assert node_rows(local) == [
        {'node': 'box', 'alive': True, 'cpu': 8.0, 'gpu': 1.0, 'memory_bytes': float(16 * 2**30)},
        {'node': 'total', 'alive': None, 'cpu': 8.0, 'gpu': 1.0, 'memory_bytes': float(16 * 2**30)},
    ]
    ray_style = {
        'nodes': [{'id': 'n1', 'resources': {'CPU': 4, 'memory': 100}}, {'id': 'n2', 'resources': {'CPU': 2, 'GPU': 2}}]
    }
    assert node_rows(ray_style)[-1] == {'node': 'total', 'alive': None, 'cpu': 6.0, 'gpu': 2.0, 'memory_bytes': 100.0}
