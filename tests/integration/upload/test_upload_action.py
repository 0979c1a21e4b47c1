"""``BaseUploadAction`` over real HTTP: files from storages into a local-backend project, discovery modes, resume."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.storage.servers import S3Server, moto_s3

from synapse_sdk.clients import BackendClient
from synapse_sdk.loggers import MemoryLogger, NoOpLogger
from synapse_sdk.plugins.actions.upload import BaseUploadAction, DiscoveryError, UploadParams
from synapse_sdk.plugins.executors import LocalExecutor
from synapse_sdk.utils.storage import get_storage

pytestmark = pytest.mark.integration


class Upload(BaseUploadAction[UploadParams]):
    action_name = 'upload'


WORKER = """
import json, sys
from synapse_sdk.clients import BackendClient
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.upload import BaseUploadAction, UploadParams
from synapse_sdk.plugins.executors import LocalExecutor

class Upload(BaseUploadAction[UploadParams]):
    action_name = 'upload'

url, token, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
result = LocalExecutor(client=BackendClient(url, token), logger_factory=NoOpLogger).execute(Upload, params)
print(json.dumps(result))
"""


@pytest.fixture
def client(local_backend: Any) -> Iterator[BackendClient]:
    with BackendClient(local_backend.base_url, local_backend.token) as c:
        yield c


@pytest.fixture(scope='module')
def s3() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SYNAPSE_STATE_DIR', str(tmp_path / 'state'))


def make_project(client: BackendClient, name: str, specs: list[dict[str, Any]]) -> tuple[int, int]:
    collection = client.data_collections.create(f'{name}-dc', specs)
    project = client.projects.create(name, data_collection=collection['id'])
    return collection['id'], project['id']


def units_by_key(client: BackendClient, collection: int) -> Counter[str]:
    return Counter(u['key'] for u in client.data_units.list({'data_collection': collection}))


def run_upload(client: BackendClient, params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = LocalExecutor(client=client, logger_factory=NoOpLogger).execute(Upload, params)
    return result


def test_spec_patterns_group_files_by_stem_with_checksums_and_tasks(client: BackendClient, tmp_path: Path) -> None:
    root = tmp_path / 'files'
    (root / 'batch' / 'images').mkdir(parents=True)
    (root / 'batch' / 'labels').mkdir(parents=True)
    for i in range(5):
        (root / 'batch' / 'images' / f'img{i}.jpg').write_bytes(b'jpeg-%d' % i)
        if i != 4:  # img4 has no label: incomplete, not uploaded
            (root / 'batch' / 'labels' / f'img{i}.json').write_text(json.dumps({'i': i}))
    (root / 'batch' / 'notes.txt').write_text('matched by no pattern')
    specs = [{'name': 'image', 'is_primary': True, 'is_required': True}, {'name': 'label', 'is_required': True}]
    collection, project = make_project(client, 'spec', specs)
    storage = client.storages.create({'name': 'files', 'provider': 'local', 'configuration': {'location': str(root)}})
    params = {
        'storage': storage['id'],
        'path': 'batch',
        'data_collection': collection,
        'project': project,
        'discovery': 'spec',
        'spec_patterns': {'image': 'images/*.jpg', 'label': 'labels/*.json'},
    }
    result = run_upload(client, params)
    assert (result['total'], result['created'], result['tasks_created']) == (4, 4, 4)
    assert result['incomplete'] == ['img4']
    units = client.data_units.list({'data_collection': collection})
    assert sorted(u['key'] for u in units) == ['img0', 'img1', 'img2', 'img3']
    for unit in units:
        i = int(unit['key'][3:])
        image = client.get_data_unit(unit['id'])['files']['image']
        assert image['is_primary'] is True
        assert image['checksum'] == hashlib.sha256(b'jpeg-%d' % i).hexdigest()
        assert client.download_file(image['url']) == b'jpeg-%d' % i
    tasks = client.list_tasks({'project': project})
    assert sorted(t['data_unit'] for t in tasks) == sorted(u['id'] for u in units)

    again = run_upload(client, params)  # the same run again: all skipped from the ledger, nothing new
    assert (again['skipped'], again['created'], again['tasks_created']) == (4, 0, 0)
    assert units_by_key(client, collection) == Counter({f'img{i}': 1 for i in range(4)})


def test_flat_and_recursive_discovery_by_extension(client: BackendClient, tmp_path: Path) -> None:
    root = tmp_path / 'files'
    (root / 'sub').mkdir(parents=True)
    (root / 'a.jpg').write_bytes(b'a')
    (root / 'a.json').write_bytes(b'{}')
    (root / 'b.png').write_bytes(b'b')
    (root / 'skip.bin').write_bytes(b'no spec takes .bin')
    (root / 'sub' / 'c.jpg').write_bytes(b'c')
    specs = [
        {'name': 'image', 'is_primary': True, 'extensions': ['jpg', '.png']},
        {'name': 'meta', 'extensions': ['json']},
    ]
    config = {'provider': 'local', 'configuration': {'location': str(root)}}
    flat_dc, _ = make_project(client, 'flat', specs)
    flat = run_upload(client, {'storage': config, 'data_collection': flat_dc, 'discovery': 'flat'})
    assert flat['created'] == 2
    assert units_by_key(client, flat_dc) == Counter({'a': 1, 'b': 1})
    unit_a = next(u for u in client.data_units.list({'data_collection': flat_dc, 'key': 'a'}))
    assert set(unit_a['files']) == {'image', 'meta'}

    deep_dc, _ = make_project(client, 'deep', specs)
    logger = MemoryLogger()
    params = {'storage': config, 'data_collection': deep_dc, 'discovery': 'recursive', 'concurrency': 2}
    deep = LocalExecutor(client=client, logger_factory=lambda: logger).execute(Upload, params)
    assert deep['created'] == 3
    upload = [(r.current, r.total) for step, r in logger.progress_updates if step == 'upload']
    assert upload[0] == (0, 3) and upload[-1] == (3, 3)
    assert [c for c, _ in upload] == sorted(c for c, _ in upload)  # never goes back
    assert logger.events('upload_finished')[0].data['created'] == 3
    assert units_by_key(client, deep_dc) == Counter({'a': 1, 'b': 1, 'sub/c': 1})


def test_a_bad_pattern_names_the_field(client: BackendClient, tmp_path: Path) -> None:
    collection, _ = make_project(client, 'bad', [{'name': 'image', 'is_primary': True}])
    config = {'provider': 'local', 'configuration': {'location': str(tmp_path)}}
    params = {'storage': config, 'data_collection': collection, 'discovery': 'spec', 'spec_patterns': {'img': '*'}}
    with pytest.raises(DiscoveryError, match=r"spec_patterns: \['img'\] are not file specifications"):
        run_upload(client, params)


def fill_bucket(s3: S3Server, bucket: str, count: int, tmp_path: Path) -> None:
    s3.create_bucket(bucket)
    storage = get_storage(s3.config(bucket))
    src = tmp_path / 'one.jpg'
    for i in range(count):
        src.write_bytes(b'image %04d ' % i + os.urandom(64))
        storage.upload(src, f'incoming/img{i:04d}.jpg')


def ledger_records(state_dir: Path) -> int:
    folder = state_dir / 'upload'
    files = list(folder.glob('*.jsonl')) if folder.exists() else []
    return sum(1 for line in files[0].read_bytes().splitlines() if line.endswith(b'}')) if files else 0


@pytest.mark.slow
def test_s3_upload_killed_mid_way_then_rerun_creates_each_unit_once(
    client: BackendClient, local_backend: Any, s3: S3Server, tmp_path: Path
) -> None:
    count = 120
    fill_bucket(s3, 'kill-bucket', count, tmp_path)
    collection, project = make_project(client, 'kill', [{'name': 'image', 'is_primary': True}])
    storage = client.storages.create({'name': 'moto', **s3.config('kill-bucket')})
    params = {
        'storage': storage['id'],
        'path': 'incoming',
        'data_collection': collection,
        'project': project,
        'discovery': 'flat',
        'concurrency': 3,
    }
    state_dir = tmp_path / 'state'
    env = {**os.environ, 'SYNAPSE_STATE_DIR': str(state_dir)}
    args = [sys.executable, '-c', WORKER, local_backend.base_url, local_backend.token, json.dumps(params)]
    started = time.monotonic()
    victim = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while ledger_records(state_dir) < 20:
        assert victim.poll() is None, f'the run ended before it could be killed: {victim.communicate()}'
        assert time.monotonic() < deadline, 'the run made no progress'
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    before = units_by_key(client, collection)
    assert 20 <= sum(before.values()) < count
    assert set(before.values()) == {1}

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, check=True)
    result = json.loads(rerun.stdout.strip().splitlines()[-1])
    elapsed = time.monotonic() - started
    assert result['failed'] == 0, result['failures']
    assert result['skipped'] >= 20
    assert result['skipped'] + result['existing'] + result['created'] == count
    expected = Counter({f'img{i:04d}': 1 for i in range(count)})
    assert units_by_key(client, collection) == expected  # every unit, each exactly once
    tasks = client.list_tasks({'project': project})
    assert Counter(t['data_unit'] for t in tasks) == Counter(
        {u['id']: 1 for u in client.data_units.list({'data_collection': collection})}
    )
    print(f'upload of {count} units with a kill -9 and a re-run: {elapsed:.1f}s')

    # without the ledger (another machine, a wiped state dir) the backend's keys alone prevent duplicates
    fresh = {**env, 'SYNAPSE_STATE_DIR': str(tmp_path / 'fresh-state')}
    third = subprocess.run(args, env=fresh, capture_output=True, text=True, timeout=240, check=True)
    again = json.loads(third.stdout.strip().splitlines()[-1])
    assert (again['existing'], again['created'], again['tasks_created']) == (count, 0, 0)
    assert units_by_key(client, collection) == expected
