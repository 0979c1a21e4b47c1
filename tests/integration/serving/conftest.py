"""One backend whose agent runs real Ray Serve (started once, on first need, for the whole session)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import ServerThread

from synapse_sdk.clients import BackendClient

PLUGINS = Path(__file__).parent / 'plugins'


@dataclass
class ServingBackend:
    base_url: str
    token: str
    state_dir: Path
    agent: Any

    def client(self) -> BackendClient:
        return BackendClient(self.base_url, self.token)


@pytest.fixture(scope='session')
def serving_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingBackend]:
    from synapse_sdk.local.app import create_app
    from synapse_sdk.local.serve_agent import attach_serve_agent
    from synapse_sdk.local.setup import init_local

    state_dir = tmp_path_factory.mktemp('serving-backend')
    token = init_local(state_dir).token
    assert token is not None
    app = create_app(state_dir)
    with ServerThread(app) as base_url:
        agent = attach_serve_agent(app, base_url, token, num_cpus=2)
        try:
            yield ServingBackend(base_url, token, state_dir, agent)
        finally:
            agent.close()
    app.close()


def publish(client: BackendClient, folder: Path, *, version: str | None = None, **config_changes: Any) -> dict:
    """Publish the plugin in ``folder`` (config changes applied, e.g. another code) as a release."""
    import shutil

    import yaml

    from synapse_sdk.plugins.executors.ray._packaging import build_archive

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / 'plugin'
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns('__pycache__'))
        config = yaml.safe_load((copy / 'config.yaml').read_text())
        _merge(config, config_changes)
        if version:
            config['version'] = version
        (copy / 'config.yaml').write_text(yaml.safe_dump(config))
        archive = build_archive(copy, tmp)
        return client.plugin_releases.publish(config['code'], config['version'], config, Path(archive).read_bytes())


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def upload_model(client: BackendClient, release_id: int, spec: dict, tmp: Path) -> int:
    folder = tmp / f'model-{release_id}'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'model.json').write_text(json.dumps(spec))
    return int(
        client.create_model({'file': str(folder), 'name': f'model-{release_id}', 'plugin_release': release_id})['id']
    )


def project_with_images(client: BackendClient, names: list[str], project_name: str) -> tuple[int, list[int]]:
    """A project with one task per image name (the bytes of ``image``, or a tiny stand-in)."""
    collection = client.data_collections.create(f'{project_name}-c', [{'name': 'image', 'is_primary': True}])
    project = client.projects.create(project_name, data_collection=collection['id'])
    ids = []
    for name in names:
        image = client.data_files.upload(b'\xff\xd8stand-in', name)
        unit = client.data_units.create(collection['id'], {'image': {'file': image['id'], 'is_primary': True}})
        ids.append(int(client.tasks.create(project['id'], data_unit=unit['id'])['id']))
    return int(project['id']), ids
