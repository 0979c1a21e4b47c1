"""`synapse doctor` on a fresh machine, after `synapse local init`, and on a configured one (real HTTP)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from synapse_sdk.clients.credentials import write_config

runner = CliRunner()

RAY_NOT_SET = (
    'WARN  ray       not checked: RAY_ADDRESS is not set; auth: no Ray token on this machine (a cluster with token '
    'authentication would refuse this client); fix: set RAY_ADDRESS=host:port to check a cluster (without one, '
    'Ray runs start a local cluster)'
)


def chromium_line() -> str:
    found = shutil.which('/usr/bin/chromium') or shutil.which('chromium') or shutil.which('chromium-browser')
    if found:
        return f"PASS  chromium  {found} is installed (the review page's browser tests use it)"
    return (
        "WARN  chromium  not found (looked for /usr/bin/chromium, chromium, chromium-browser); the review page's "
        'browser tests need it; fix: install it (`apt-get install -y chromium`); the review page itself opens in '
        'any browser'
    )


def summary(passed: int, warned: int, failed: int, skipped: int) -> str:
    chromium_passes = chromium_line().startswith('PASS')
    passed, warned = passed + chromium_passes, warned + (not chromium_passes)
    return f'{passed} passed, {warned} warned, {failed} failed, {skipped} skipped'


def config_dir() -> Path:
    return Path(os.environ['SYNAPSE_CONFIG_DIR'])


def local_dir() -> Path:
    return Path(os.environ['SYNAPSE_LOCAL_DIR'])


def test_a_fresh_machine_is_told_what_to_fix_and_nothing_is_written(synapse: typer.Typer) -> None:
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 1, result.output
    config, local = config_dir() / 'config.json', local_dir()
    assert result.output.splitlines() == [
        f'WARN  config    no config file at {config}; fix: run `synapse login --host URL` to use a backend '
        '(until then, commands use the local backend)',
        f'FAIL  backend   no backend configured, and the local backend in {local} is not initialised; fix: run '
        '`synapse local init` (the local backend), or `synapse login --host URL` (a remote one)',
        'SKIP  agent     not checked: no backend accepted the credentials',
        RAY_NOT_SET,
        f'FAIL  local     {local} is not initialised; fix: run `synapse local init`',
        chromium_line(),
        summary(0, 2, 2, 1),
    ]
    assert not local.exists() and not config_dir().exists()


def test_after_local_init_every_check_passes_in_process(synapse: typer.Typer) -> None:
    assert runner.invoke(synapse, ['local', 'init']).exit_code == 0
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 0, result.output
    local = local_dir()
    assert result.output.splitlines()[1:5] == [
        f'PASS  backend   the local backend ({local}, in this process: no `synapse local serve` runs) accepted '
        f'the access token from the local token file {local / "access_token"}',
        'PASS  agent     the first agent 1 (local) answers in this process',
        RAY_NOT_SET,
        f'PASS  local     {local} is initialised; no `synapse local serve` runs',
    ]


def test_a_configured_machine_passes_every_check(synapse: typer.Typer, served) -> None:
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 0, result.output
    config = served.config_file
    assert result.output.splitlines() == [
        f'PASS  config    {config} is readable (access_token, host)',
        f'PASS  backend   {served.url} accepted the access token from the config file {config} '
        f'(host from the config file {config})',
        f'PASS  agent     the first agent 1 (local) answers at {served.url}agent/',
        RAY_NOT_SET,
        f'PASS  local     {served.state_dir} is initialised; `synapse local serve` runs at {served.url} '
        f'(pid {os.getpid()})',
        chromium_line(),
        summary(4, 1, 0, 0),
    ]
    as_json = json.loads(runner.invoke(synapse, ['doctor', '--json']).output)
    assert as_json['ok'] is True
    assert [c['name'] for c in as_json['checks']] == ['config', 'backend', 'agent', 'ray', 'local', 'chromium']
    assert served.token not in result.output


def test_a_refused_token_names_its_source_and_the_fix(synapse: typer.Typer, served) -> None:
    write_config({'access_token': 'not-the-token-0123456789'})
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[1] == (
        f'FAIL  backend   {served.url} refused the access token from the config file {served.config_file}; '
        f'fix: run `synapse login --host {served.url}` to save a valid one'
    )
    assert lines[2] == 'SKIP  agent     not checked: no backend accepted the credentials'
    assert 'not-the-token-0123456789' not in result.output


def test_a_refused_environment_token_says_so(synapse: typer.Typer, served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'wrong-env-token-0123456789')
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        f'FAIL  backend   {served.url} refused the access token from SYNAPSE_ACCESS_TOKEN (an environment variable); '
        f'fix: set a valid one there, or unset it to use the one `synapse login --host {served.url}` saves'
    )


def test_an_unreachable_selected_agent_fails_its_check(
    synapse: typer.Typer, served, add_agent, closed_port: int
) -> None:
    gone = f'http://127.0.0.1:{closed_port}/'
    created = add_agent('gone', gone)
    assert runner.invoke(synapse, ['agent', 'select', str(created['id'])]).exit_code == 0
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 1
    assert result.output.splitlines()[2] == (
        f'FAIL  agent     the selected agent {created["id"]} (gone) does not answer at {gone}: cannot connect '
        '(ConnectError); fix: start that agent, or select another (`synapse agent list`, `synapse agent select ID`)'
    )


def test_a_dead_server_record_is_reported_not_removed(synapse: typer.Typer) -> None:
    assert runner.invoke(synapse, ['local', 'init']).exit_code == 0
    record = local_dir() / 'server.json'
    record.write_text(json.dumps({'url': 'http://127.0.0.1:9/', 'pid': 2**22 + 1}))
    result = runner.invoke(synapse, ['doctor'])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[4] == (
        f'WARN  local     {local_dir()} is initialised; {record} is stale: process {2**22 + 1} is gone; '
        'fix: `synapse local status` removes the record; `synapse local serve` starts a server'
    )
    assert record.exists()
