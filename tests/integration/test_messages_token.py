"""A token the backend refuses: the error names the backend, where the token came from and `synapse login`.

Real HTTP against the local backend on 127.0.0.1 (tests/integration/conftest.py), through the Python
client and through the CLI; the token itself never appears.
"""

from __future__ import annotations

import asyncio
import textwrap

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.clients import AsyncBackendClient, BackendClient
from synapse_sdk.clients.credentials import config_path, write_config
from synapse_sdk.connect import create_backend_client
from synapse_sdk.exceptions import AuthenticationError
from synapse_sdk.utils.redact import redact

pytestmark = pytest.mark.integration

BAD = 'not-the-token-8f2c41d9'
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch):
    for name in ('SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_TENANT'):
        monkeypatch.delenv(name, raising=False)


def refusal(client: BackendClient) -> AuthenticationError:
    with client, pytest.raises(AuthenticationError) as info:
        client.projects.list()
    assert BAD not in str(info.value)
    assert redact(str(info.value)) == str(info.value)  # the CLI prints it redacted: nothing in it looks secret
    return info.value


def test_a_token_given_to_the_client(local_backend):
    url = local_backend.base_url
    error = refusal(BackendClient(url, BAD))
    assert str(error) == (
        f'401: Invalid token. The backend at {url} refused the access token given to the client; '
        f'pass a valid one, or run `synapse login --host {url}` and make the client with create_backend_client()'
    )
    assert isinstance(error.__cause__, AuthenticationError) and error.__cause__.detail == 'Invalid token.'


def test_a_token_from_the_environment(local_backend, monkeypatch):
    url = local_backend.base_url
    monkeypatch.setenv('SYNAPSE_HOST', url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', BAD)
    client = create_backend_client()
    assert client is not None
    assert str(refusal(client)) == (
        f'401: Invalid token. The backend at {url} refused the access token from SYNAPSE_ACCESS_TOKEN '
        f'(an environment variable); set a valid one there, or unset it to use the one `synapse login --host {url}` '
        'saves'
    )


def test_a_token_from_the_config_file(local_backend):
    url = local_backend.base_url
    saved = write_config({'host': url, 'access_token': BAD})
    client = create_backend_client()
    assert client is not None
    assert str(refusal(client)) == (
        f'401: Invalid token. The backend at {url} refused the access token saved in the config file {saved}; '
        f'run `synapse login --host {url}` to save a valid one'
    )
    assert saved == config_path()


def test_no_token_at_all(local_backend):
    url = local_backend.base_url
    assert str(refusal(BackendClient(url))) == (
        '401: Authentication credentials were not provided. '
        f'The backend at {url} needs an access token; run `synapse login --host {url}`, or set SYNAPSE_ACCESS_TOKEN'
    )


def test_the_async_client_explains_the_same_way(local_backend, monkeypatch):
    url = local_backend.base_url
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', BAD)

    async def list_projects() -> None:
        async with AsyncBackendClient(url, BAD) as client:
            await client.projects.list()

    with pytest.raises(AuthenticationError) as info:
        asyncio.run(list_projects())
    assert str(info.value).startswith(
        f'401: Invalid token. The backend at {url} refused the access token from SYNAPSE_ACCESS_TOKEN '
    )


def test_a_good_token_still_works(local_backend):
    with BackendClient(local_backend.base_url, local_backend.token) as client:
        assert isinstance(client.projects.list(), list)


CONFIG = """
name: Probe
code: probe
actions:
  projects:
    entrypoint: plugin.actions:projects
"""

ACTIONS = """
from synapse_sdk.plugins import action


@action
def projects(params, ctx):
    return {'projects': ctx.client.projects.list()}
"""


@pytest.fixture
def probe(tmp_path):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(ACTIONS)
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(CONFIG).lstrip())
    return tmp_path


def test_the_cli_prints_where_the_refused_token_came_from(local_backend, probe, monkeypatch):
    url = local_backend.base_url
    monkeypatch.setenv('SYNAPSE_HOST', url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', BAD)
    from_env = runner.invoke(app, ['plugin', 'run', 'projects', '--path', str(probe)])
    assert from_env.exit_code == 1
    assert from_env.stderr == (
        f'Error: 401: Invalid token. The backend at {url} refused the access token from SYNAPSE_ACCESS_TOKEN '
        f'(an environment variable); set a valid one there, or unset it to use the one `synapse login --host {url}` '
        'saves\n'
    )
    monkeypatch.delenv('SYNAPSE_ACCESS_TOKEN')
    saved = write_config({'host': url, 'access_token': BAD})
    from_file = runner.invoke(app, ['plugin', 'run', 'projects', '--path', str(probe)])
    assert from_file.stderr == (
        f'Error: 401: Invalid token. The backend at {url} refused the access token saved in the config file {saved}; '
        f'run `synapse login --host {url}` to save a valid one\n'
    )
    assert BAD not in from_env.output + from_file.output


def test_login_with_a_refused_token_names_the_backend_and_saves_nothing(local_backend):
    url = local_backend.base_url
    result = runner.invoke(app, ['login', '--host', url, '--token', BAD])
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: 401: The backend refused the token (Invalid token.); nothing was saved. '
        f'{url} does not accept the token given to `synapse login`; copy a valid one and log in again\n'
    )
    assert not config_path().exists()
    assert BAD not in result.output
