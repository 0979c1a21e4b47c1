"""`synapse agent list|select ID|show [ID]|clear`: the agents of the configured backend, and the one to use.

The selection is saved in the config file (key ``agent``, see :mod:`synapse_sdk.clients.agent_selection`);
``show`` asks the agent itself for its health and cluster resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from synapse_sdk.cli.errors import backend_client_or_fail, fail, handle_errors

if TYPE_CHECKING:
    from synapse_sdk.cli._agents import AgentAccess, Health
    from synapse_sdk.clients.agent_selection import SavedAgent
    from synapse_sdk.clients.backend.client import BackendClient

__all__ = ['app']

app = typer.Typer(
    help='Agents of the configured backend: list them, select one, show its resources and health.',
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)

_AS_JSON = typer.Option('--json', help='Print JSON instead of a table.')
_LIST_HINT = '`synapse agent list` shows the ids'


@dataclass
class _Backend:
    client: BackendClient
    host: str | None  #: the configured host; None: the embedded local backend
    local: bool  #: the local backend of SYNAPSE_LOCAL_DIR (in this process or its running server)
    label: str


def _backend(purpose: str) -> _Backend:
    from synapse_sdk.cli._agents import is_local_backend
    from synapse_sdk.clients.credentials import resolve_credentials, shown_url

    host = resolve_credentials()['host']
    client = backend_client_or_fail(purpose)
    if host is None:
        from synapse_sdk.local.paths import LocalPaths

        label = f'the local backend ({LocalPaths.resolve().root})'
    else:
        label = shown_url(client.base_url)
    return _Backend(client, host, is_local_backend(host), label)


def _selected_here(saved: SavedAgent | None, backend: _Backend) -> int | None:
    return saved.id if saved is not None and saved.selected_on(backend.host) else None


def _public(row: dict[str, Any], chosen: int | None) -> dict[str, Any]:
    """An agent as commands print it: never its token."""
    shown = {key: row.get(key) for key in ('id', 'name', 'url', 'status')}
    return {**shown, 'selected': row.get('id') == chosen}


def _elsewhere(saved: SavedAgent) -> str:
    return saved.backend or 'the local backend'


def _get(backend: _Backend, agent_id: int) -> dict[str, Any]:
    from synapse_sdk.exceptions import NotFoundError

    try:
        row: dict[str, Any] = backend.client.agents.get(agent_id)
    except NotFoundError:
        raise fail(f'No agent {agent_id} on {backend.label}; {_LIST_HINT}') from None
    return row


@app.command('list')
@handle_errors
def list_agents(as_json: Annotated[bool, _AS_JSON] = False) -> None:
    """The agents of the configured backend; the selected one is marked with *."""
    from rich.table import Table

    from synapse_sdk.clients.agent_selection import selected_agent

    saved = selected_agent()
    backend = _backend('list agents of')
    try:
        rows = backend.client.agents.list()
    finally:
        backend.client.close()
    chosen = _selected_here(saved, backend)
    shown = [_public(row, chosen) for row in rows]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    if not shown:
        console.print(f'No agents on {backend.label}.', markup=False)
        return
    table = Table('', 'id', 'name', 'url', 'status', title=f'Agents of {backend.label}')
    for agent in shown:
        mark = '*' if agent['selected'] else ''
        table.add_row(mark, str(agent['id']), str(agent['name'] or ''), str(agent['url'] or ''), str(agent['status']))
    console.print(table)
    if saved is not None and chosen is None:
        console.print(
            f'The saved agent {saved.id} was selected on {_elsewhere(saved)}, not on this backend; '
            'run `synapse agent select ID` to choose one here.',
            markup=False,
        )


@app.command('select')
@handle_errors
def select(
    agent_id: Annotated[int, typer.Argument(help='The agent id (`synapse agent list`).', min=1, metavar='ID')],
) -> None:
    """Save the agent to use (the config file's `agent` entry)."""
    from synapse_sdk.clients.agent_selection import SavedAgent, save_agent

    backend = _backend('select an agent of')
    try:
        row = _get(backend, agent_id)
    finally:
        backend.client.close()
    saved = SavedAgent.model_validate({**row, 'token': row.get('token') or None, 'backend': backend.host})
    file = save_agent(saved)
    name = f' ({saved.name})' if saved.name else ''
    console.print(f'Selected agent {saved.id}{name} at {saved.url or "no URL"}; saved in {file}', markup=False)


@app.command('clear')
@handle_errors
def clear() -> None:
    """Forget the selected agent."""
    from synapse_sdk.clients.agent_selection import clear_agent
    from synapse_sdk.clients.credentials import config_path

    if clear_agent():
        console.print(f'Agent selection removed from {config_path()}', markup=False)
    else:
        console.print('No agent selected; nothing to clear', markup=False)


@app.command('show')
@handle_errors
def show(
    agent_id: Annotated[
        int | None,
        typer.Argument(help='The agent id (default: the selected agent).', min=1, show_default=False, metavar='ID'),
    ] = None,
    as_json: Annotated[bool, _AS_JSON] = False,
) -> None:
    """The agent's health (its URL and `health/`) and its cluster resources; exit 1 when it does not answer."""
    from synapse_sdk.cli._agents import agent_access, node_rows, probe_health
    from synapse_sdk.clients.agent.client import AGENT_TIMEOUT
    from synapse_sdk.clients.agent_selection import selected_agent
    from synapse_sdk.exceptions import ClientError

    saved = selected_agent()
    backend = _backend('show an agent of')
    try:
        row = _get(backend, _which(agent_id, saved, backend))
    finally:
        backend.client.close()
    access = agent_access(
        row, backend_url=backend.client.base_url, local=backend.local, saved=saved, timeout=AGENT_TIMEOUT
    )
    snapshot: dict[str, Any] | None = None
    problem: str | None = None
    try:
        health = probe_health(access)
        if not health.ok:
            problem = 'not read: the agent did not answer its health check'
        elif access.client is None:
            problem = (
                f'not read: no token for this agent; set SYNAPSE_AGENT_URL={access.url} and '
                'SYNAPSE_AGENT_TOKEN to its token'
            )
        else:
            try:
                snapshot = access.client.get_cluster_resources()
            except ClientError as exc:
                problem = f'not read: {" ".join(str(exc).split())}'
    finally:
        access.close()
    agent = _public(row, _selected_here(saved, backend))
    rows = node_rows(snapshot) if snapshot is not None else None
    if as_json:
        report = {'agent': agent, 'backend': backend.label, 'health': health.as_dict(), 'resources': rows}
        typer.echo(json.dumps({**report, 'resources_error': problem}, indent=2))
    else:
        _print_show(agent, backend.label, health, rows, problem, access)
    if not health.ok:
        raise typer.Exit(1)


def _which(agent_id: int | None, saved: SavedAgent | None, backend: _Backend) -> int:
    if agent_id is not None:
        return agent_id
    if saved is None:
        raise fail(f'No agent selected: pass an ID, or run `synapse agent select ID` ({_LIST_HINT})')
    if not saved.selected_on(backend.host):
        raise fail(
            f'The saved agent {saved.id} was selected on {_elsewhere(saved)}, not on {backend.label}; '
            'pass an ID, or run `synapse agent select ID` for this backend'
        )
    return saved.id


def _print_show(
    agent: dict[str, Any],
    backend: str,
    health: Health,
    rows: list[dict[str, Any]] | None,
    problem: str | None,
    access: AgentAccess,
) -> None:
    from rich.table import Table

    selected = ' (selected)' if agent['selected'] else ''
    name = f' {agent["name"]}' if agent['name'] else ''
    console.print(f'Agent {agent["id"]}{name}{selected} of {backend}: status {agent["status"]}', markup=False)
    console.print(f'URL:       {agent["url"]}', markup=False)
    probe = 'in this process' if access.in_process else f'GET {health.url}'
    if health.ok:
        console.print(f'Health:    ok ({probe}, {health.millis:g} ms)', markup=False)
    else:
        console.print(f'Health:    FAILED ({probe}: {health.error})', markup=False)
    if rows is None:
        console.print(f'Resources: {problem}', markup=False)
        return
    console.print(f'Resources: read with the token from {access.token_source}', markup=False)
    table = Table('node', 'alive', 'CPU', 'GPU', 'memory')
    for row in rows:
        alive = '' if row['alive'] is None else ('yes' if row['alive'] else 'no')
        memory = f'{row["memory_bytes"] / 2**30:.1f} GiB'
        table.add_row(row['node'], alive, f'{row["cpu"]:g}', f'{row["gpu"]:g}', memory)
    console.print(table)
