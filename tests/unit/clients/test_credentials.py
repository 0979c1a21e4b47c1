"""Credential precedence (args > env > config file > local backend) and the config file itself."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.clients.credentials import read_config, resolve_credentials, write_config
from synapse_sdk.connect import create_backend_client
from synapse_sdk.local.connect import IN_PROCESS_URL


def test_precedence_args_then_env_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config({'host': 'https://file.example/', 'access_token': 'file-token', 'tenant': 'file-tenant'})
    assert resolve_credentials() == {
        'host': 'https://file.example/',
        'access_token': 'file-token',
        'tenant': 'file-tenant',
    }
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', 'env-token')
    assert resolve_credentials(tenant='arg-tenant') == {
        'host': 'https://file.example/',
        'access_token': 'env-token',
        'tenant': 'arg-tenant',
    }
    monkeypatch.setenv('SYNAPSE_HOST', 'https://env.example/')
    assert resolve_credentials(host='https://arg.example/')['host'] == 'https://arg.example/'
    assert resolve_credentials()['host'] == 'https://env.example/'


def test_the_file_token_never_goes_to_another_host(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config({'host': 'https://a.example/', 'access_token': 'token-for-a', 'tenant': 'tenant-of-a'})
    monkeypatch.setenv('SYNAPSE_HOST', 'https://b.example')
    assert resolve_credentials() == {'host': 'https://b.example', 'access_token': None, 'tenant': None}
    assert create_backend_client() is None  # no token for B: nothing is sent anywhere
    assert resolve_credentials(host='http://a.example/')['access_token'] is None  # another scheme
    assert resolve_credentials(host='https://a.example:8443/')['access_token'] is None  # another port
    assert resolve_credentials(host='https://a.example/v2/')['access_token'] is None  # another base path


def test_the_file_token_is_used_for_its_own_host_however_spelled(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config({'host': 'https://a.example/', 'access_token': 'token-for-a'})
    for spelling in ('https://a.example', 'https://A.example/', 'https://a.example:443/'):
        monkeypatch.setenv('SYNAPSE_HOST', spelling)
        assert resolve_credentials()['access_token'] == 'token-for-a', spelling
        client = create_backend_client()
        assert client is not None
        assert client._auth_headers['Synapse-Access-Token'] == 'Token token-for-a'
        client.close()


def test_remote_host_without_token_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_HOST', 'https://api.example.com')
    assert create_backend_client() is None


def test_remote_host_with_token_gives_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    client = create_backend_client('https://api.example.com', 'abcdef123456')
    assert isinstance(client, BackendClient)
    assert client.base_url == 'https://api.example.com/'


def test_nothing_configured_reaches_the_local_backend_in_process(tmp_path: Path) -> None:
    client = create_backend_client()
    assert client is not None
    with client:
        assert client.base_url == IN_PROCESS_URL
        assert client.agents.list()[0]['name'] == 'local'
    assert (tmp_path / 'local' / 'synapse.db').exists()
    assert stat.S_IMODE(os.stat(tmp_path / 'local' / 'access_token').st_mode) == 0o600


def test_explicit_config_path_is_read(tmp_path: Path) -> None:
    path = tmp_path / 'elsewhere.json'
    path.write_text(json.dumps({'host': 'https://cfg.example/', 'access_token': 'cfg-token-123'}))
    client = create_backend_client(config_path=path)
    assert client is not None and client.base_url == 'https://cfg.example/'


def test_write_config_merges_and_is_private(tmp_path: Path) -> None:
    write_config({'host': 'https://a.example/', 'agent': {'id': 1}})
    file = write_config({'access_token': 'secret-token'})
    assert json.loads(file.read_text()) == {
        'host': 'https://a.example/',
        'agent': {'id': 1},
        'access_token': 'secret-token',
    }
    assert file == tmp_path / 'config' / 'config.json'
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600


def test_a_broken_config_file_is_named_in_the_error(tmp_path: Path) -> None:
    file = tmp_path / 'config' / 'config.json'
    file.parent.mkdir()
    file.write_text('{not json')
    with pytest.raises(ValueError, match=r'^Cannot read .*config\.json: .* Fix the JSON or remove the file'):
        read_config()
