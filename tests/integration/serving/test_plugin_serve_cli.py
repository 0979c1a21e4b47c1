"""`synapse plugin serve`: deploy a plugin folder on a Ray cluster, call it, list it, delete it."""

from __future__ import annotations

import shutil

import httpx
import pytest
import yaml
from tests.integration.serving.conftest import PLUGINS, publish, upload_model
from typer.testing import CliRunner

from synapse_sdk.cli.app import app

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(300)]


def test_serve_deploys_the_folder_and_prints_its_url_then_status_and_delete(serving_backend, tmp_path, monkeypatch):
    head = serving_backend.agent.ensure_ray()
    monkeypatch.setenv('SYNAPSE_HOST', serving_backend.base_url)
    monkeypatch.setenv('SYNAPSE_ACCESS_TOKEN', serving_backend.token)
    folder = tmp_path / 'echo'
    shutil.copytree(PLUGINS / 'echo_pre', folder, ignore=shutil.ignore_patterns('__pycache__'))
    config = yaml.safe_load((folder / 'config.yaml').read_text())
    config['code'] = 'echo-cli'
    (folder / 'config.yaml').write_text(yaml.safe_dump(config))
    client = serving_backend.client()
    release = publish(client, folder)
    model = upload_model(client, release['id'], {'label': 'cli'}, tmp_path)
    runner = CliRunner()
    address = ['--ray-address', head.dashboard_url]
    done = runner.invoke(app, ['plugin', 'serve', '--path', str(folder), *address])
    assert done.exit_code == 0, done.output
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith('echo-cli is RUNNING at http://127.0.0.1:') and last.endswith('/echo-cli/')
    url = last.rsplit(' ', 1)[1]
    answer = httpx.post(url, json={'primary_file_name': 'a.jpg'}, headers={'serve_multiplexed_model_id': str(model)})
    assert answer.status_code == 200, answer.text
    assert answer.json()['annotations']['image_1'][0]['classification'] == {'class': 'cli'}

    listed = runner.invoke(app, ['plugin', 'serve', '--status', *address])
    assert listed.exit_code == 0 and 'echo-cli  RUNNING' in listed.stdout
    gone = runner.invoke(app, ['plugin', 'serve', '--delete', 'echo-cli', *address])
    assert gone.exit_code == 0, gone.output
    again = runner.invoke(app, ['plugin', 'serve', '--status', *address])
    assert 'echo-cli' not in again.stdout
    client.close()
