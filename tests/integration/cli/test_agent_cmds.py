"""`synapse agent list|select|show|clear` against the local backend over real HTTP."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from synapse_sdk.clients.agent_selection import SavedAgent, selected_agent
from synapse_sdk.clients.credentials import read_config, write_config

runner = CliRunner()


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_list_shows_the_agents_and_marks_the_selected_one(synapse: typer.Typer, served) -> None:
    code, output = invoke(synapse, 'agent', 'list', '--json')
    assert code == 0, output
    local = {'id': 1, 'name': 'local', 'url': f'{served.url}agent/', 'status': 'connected', 'selected': False}
    assert json.loads(output) == [local]

    code, output = invoke(synapse, 'agent', 'select', '1')
    assert code == 0, output
    assert output.strip() == f'Selected agent 1 (local) at {served.url}agent/; saved in {served.config_file}'
    assert read_config()['agent'] == {'id': 1, 'name': 'local', 'url': f'{served.url}agent/', 'backend': served.url}
    assert read_config()['access_token'] == served.token  # the credentials are kept
    assert selected_agent() == SavedAgent(id=1, name='local', url=f'{served.url}agent/', backend=served.url)

    assert json.loads(invoke(synapse, 'agent', 'list', '--json')[1]) == [{**local, 'selected': True}]
    code, table = invoke(synapse, 'agent', 'list')
    assert code == 0
    assert re.search(rf'\*\s+│\s+1\s+│\s+local\s+│\s+{re.escape(served.url)}agent/\s+│\s+connected', table), table


def test_select_an_unknown_agent_is_refused(synapse: typer.Typer, served) -> None:
    code, output = invoke(synapse, 'agent', 'select', '99')
    assert code == 1
    assert output.strip() == f'Error: No agent 99 on {served.url}; `synapse agent list` shows the ids'
    assert 'agent' not in read_config()


def test_show_gives_health_and_the_cluster_resources(synapse: typer.Typer, served) -> None:
    code, output = invoke(synapse, 'agent', 'show')
    assert code == 1
    assert 'Error: No agent selected: pass an ID, or run `synapse agent select ID`' in output

    assert invoke(synapse, 'agent', 'select', '1')[0] == 0
    code, output = invoke(synapse, 'agent', 'show', '--json')
    assert code == 0, output
    shown = json.loads(output)
    assert shown['agent'] == {
        'id': 1,
        'name': 'local',
        'url': f'{served.url}agent/',
        'status': 'connected',
        'selected': True,
    }
    assert shown['health']['ok'] is True and shown['health']['url'] == f'{served.url}agent/health/'
    assert shown['resources_error'] is None
    *nodes, total = shown['resources']
    assert len(nodes) == 1 and nodes[0]['alive'] is True
    assert total['node'] == 'total' and total['cpu'] > 0 and total['memory_bytes'] > 0
    assert total['cpu'] == nodes[0]['cpu']

    code, output = invoke(synapse, 'agent', 'show')
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f'Agent 1 local (selected) of {served.url}: status connected'
    assert lines[1] == f'URL:       {served.url}agent/'
    assert re.fullmatch(rf'Health:    ok \(GET {re.escape(served.url)}agent/health/, [\d.]+ ms\)', lines[2])
    token_file = served.state_dir / 'agent_token'
    assert lines[3] == f'Resources: read with the token from the local agent token file {token_file}'
    assert token_file.read_text().strip() not in output


def test_show_of_an_agent_that_does_not_answer_exits_1(
    synapse: typer.Typer, served, add_agent, closed_port: int
) -> None:
    gone = f'http://127.0.0.1:{closed_port}/'
    created = add_agent('gone', gone)
    code, output = invoke(synapse, 'agent', 'show', str(created['id']))
    assert code == 1
    assert f'Health:    FAILED (GET {gone}health/: cannot connect (ConnectError))' in output
    assert 'Resources: not read: the agent did not answer its health check' in output
    assert created['token'] not in output


def test_an_agent_token_from_the_worker_variables_reads_resources(
    synapse: typer.Typer, local_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backend that is not this machine's local one: the agent's token comes from SYNAPSE_AGENT_TOKEN."""
    write_config({'host': local_backend.base_url, 'access_token': local_backend.token})
    agent_url = f'{local_backend.base_url}agent/'
    code, output = invoke(synapse, 'agent', 'show', '1', '--json')
    assert code == 0, output
    assert json.loads(output)['resources_error'] == (
        f'not read: no token for this agent; set SYNAPSE_AGENT_URL={agent_url} and SYNAPSE_AGENT_TOKEN to its token'
    )
    token = (local_backend.state_dir / 'agent_token').read_text().strip()
    monkeypatch.setenv('SYNAPSE_AGENT_URL', agent_url)
    monkeypatch.setenv('SYNAPSE_AGENT_TOKEN', token)
    code, output = invoke(synapse, 'agent', 'show', '1')
    assert code == 0, output
    assert 'Resources: read with the token from SYNAPSE_AGENT_TOKEN' in output
    assert token not in output


def test_clear_forgets_only_the_selection(synapse: typer.Typer, served) -> None:
    assert invoke(synapse, 'agent', 'select', '1')[0] == 0
    code, output = invoke(synapse, 'agent', 'clear')
    assert (code, output.strip()) == (0, f'Agent selection removed from {served.config_file}')
    assert read_config() == {'host': served.url, 'access_token': served.token}
    assert selected_agent() is None
    code, output = invoke(synapse, 'agent', 'clear')
    assert (code, output.strip()) == (0, 'No agent selected; nothing to clear')


def test_a_selection_made_on_another_backend_is_not_used(synapse: typer.Typer, served) -> None:
    assert invoke(synapse, 'agent', 'select', '1')[0] == 0
    write_config(
        {
            'agent': {
                'id': 1,
                'name': 'local',
                'url': 'https://elsewhere.test/agent/',
                'backend': 'https://elsewhere.test/',
            }
        }
    )
    code, output = invoke(synapse, 'agent', 'show')
    assert code == 1
    assert output.strip() == (
        f'Error: The saved agent 1 was selected on https://elsewhere.test/, not on {served.url}; pass an ID, '
        'or run `synapse agent select ID` for this backend'
    )
    assert json.loads(invoke(synapse, 'agent', 'list', '--json')[1])[0]['selected'] is False
