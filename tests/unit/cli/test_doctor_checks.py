"""The checks of `synapse doctor` one by one, without sockets (tests/integration/cli has the probes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from synapse_sdk.cli._doctor_checks import Check, Context, Status, check_agent, check_backend, check_config
from synapse_sdk.cli._doctor_machine import check_chromium, check_local, check_ray
from synapse_sdk.clients.credentials import config_path, write_config

HOW = (
    'start a cluster with `ray start --head` (it prints the address to use) and pass that address '
    "(--ray-address / ray_address=, e.g. '127.0.0.1:6379'), or use 'auto' for the cluster running on this machine"
)


@pytest.fixture(autouse=True)
def _no_ray_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ('RAY_ADDRESS', 'RAY_API_SERVER_ADDRESS', 'RAY_DASHBOARD_ADDRESS', 'RAY_AUTH_TOKEN', 'RAY_AUTH_MODE')
    for name in (*names, 'SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('RAY_AUTH_TOKEN_PATH', str(tmp_path / 'no-ray-token'))


def test_a_broken_config_file_fails_and_stops_the_backend_check() -> None:
    file = config_path()
    file.parent.mkdir(parents=True)
    file.write_text('{"host": ')
    ctx = Context()
    check = check_config(ctx)
    assert check.status is Status.FAIL
    assert check.line() == (
        f'FAIL  config    {file} cannot be read: Expecting value: line 1 column 10 (char 9); '
        'fix: fix the JSON, or remove the file and run `synapse login`'
    )
    assert check_backend(ctx) == Check(
        name='backend', status=Status.SKIP, detail='not checked: the config file cannot be read'
    )
    assert check_agent(ctx).status is Status.SKIP


def test_a_config_file_others_can_read_is_a_warning() -> None:
    file = write_config({'host': 'https://api.example.test/', 'access_token': 'secret-token-123456'})
    os.chmod(file, 0o644)
    check = check_config(Context())
    assert check.line() == (
        f'WARN  config    {file} holds access_token and others may read it (mode 644); fix: chmod 600 {file}'
    )
    assert 'secret-token-123456' not in check.line()


def test_a_broken_agent_selection_names_the_field() -> None:
    file = write_config({'agent': {'id': 'first'}})
    check = check_config(Context())
    assert check.status is Status.FAIL
    assert check.detail == (
        f"The 'agent.id' entry of {file} is not a saved agent (Input should be a valid integer, unable to parse "
        'string as an integer)'
    )
    assert check.fix == 'run `synapse agent select ID` (`synapse agent list` shows the ids), or `synapse agent clear`'


def test_a_host_without_a_token_is_told_to_log_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_HOST', 'https://api.example.test')
    ctx = Context()
    assert check_config(ctx).line() == f'PASS  config    no config file at {config_path()}; the host is SYNAPSE_HOST'
    assert check_backend(ctx).line() == (
        'FAIL  backend   no access token for https://api.example.test (host from SYNAPSE_HOST); '
        'fix: run `synapse login --host https://api.example.test`, or set SYNAPSE_ACCESS_TOKEN'
    )


def test_ray_unset_is_a_warning_naming_the_auth_mode() -> None:
    assert check_ray(Context()).line() == (
        'WARN  ray       not checked: RAY_ADDRESS is not set; auth: no Ray token on this machine (a cluster with '
        'token authentication would refuse this client); fix: set RAY_ADDRESS=host:port to check a cluster '
        '(without one, Ray runs start a local cluster)'
    )


def test_ray_auth_mode_names_the_token_source_never_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('RAY_AUTH_TOKEN', 'ray-secret-abcdef')
    check = check_ray(Context())
    assert check.detail.endswith('; auth: token authentication with the token from RAY_AUTH_TOKEN')
    assert 'ray-secret-abcdef' not in check.line()
    monkeypatch.setenv('RAY_AUTH_MODE', 'disabled')
    assert check_ray(Context()).detail.endswith('; auth: token authentication off here (RAY_AUTH_MODE=disabled)')


def test_a_ray_address_without_ray_installed_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('RAY_ADDRESS', '10.0.0.5:6379')  # unit tests run with `import ray` failing
    assert check_ray(Context()).line() == (
        "FAIL  ray       RAY_ADDRESS=10.0.0.5:6379, but Ray is not installed; fix: pip install 'synapse-sdk[ray]'"
    )


def test_a_stale_server_record_is_reported_and_kept() -> None:
    from synapse_sdk.local.paths import LocalPaths
    from synapse_sdk.local.setup import init_local

    paths = LocalPaths.resolve()
    init_local(paths.root)
    paths.server_file.write_text(json.dumps({'url': 'http://127.0.0.1:9/', 'pid': 2**22 + 1}))
    check = check_local(Context())
    assert check.status is Status.WARN
    assert check.detail == f'{paths.root} is initialised; {paths.server_file} is stale: process {2**22 + 1} is gone'
    assert paths.server_file.exists()


def test_local_state_not_needed_for_a_remote_backend() -> None:
    from synapse_sdk.local.paths import LocalPaths

    ctx = Context(host='https://api.example.test/')
    assert check_local(ctx).line() == (
        f'PASS  local     {LocalPaths.resolve().root} is not initialised (not needed: the backend is '
        'https://api.example.test/)'
    )


def test_chromium_found_or_missing(tmp_path: Path) -> None:
    browser = tmp_path / 'chromium'
    browser.write_text('#!/bin/sh\n')
    browser.chmod(0o755)
    found = check_chromium(Context(chromium=(str(tmp_path / 'absent'), str(browser))))
    assert found.line() == f"PASS  chromium  {browser} is installed (the review page's browser tests use it)"
    missing = check_chromium(Context(chromium=(str(tmp_path / 'absent'),)))
    assert missing.status is Status.WARN
    assert missing.fix == 'install it (`apt-get install -y chromium`); the review page itself opens in any browser'
