"""Training datasets (``get_dataset``) and model records with their uploaded files (``create_model``)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.exceptions import NotFoundError, RequestValidationError
from synapse_sdk.local.connect import connect_local_async


def labelled_units(client: BackendClient, n: int) -> tuple[dict, list[dict]]:
    dc = client.data_collections.create('photos', [{'name': 'image', 'is_primary': True}])
    units = []
    for i in range(n):
        image = client.data_files.upload(f'img-{i}'.encode(), f'{i}.jpg')
        units.append(client.data_units.create(dc['id'], {'image': {'file': image['id'], 'is_primary': True}}))
    return dc, units


def test_get_dataset_returns_every_item_with_files(client: BackendClient) -> None:
    dc, units = labelled_units(client, 3)
    dataset = client.datasets.create('cats-v1', data_collection=dc['id'])
    items = client.datasets.add_items(
        dataset['id'],
        [
            {'data_unit': unit['id'], 'category': 'train' if i < 2 else 'valid', 'data': {'label': f'cat{i}'}}
            for i, unit in enumerate(units)
        ],
    )
    assert [item['data_unit'] for item in items] == [unit['id'] for unit in units]
    got = client.get_dataset(dataset['id'], {'page_size': 2})  # every page is read
    assert {k: got[k] for k in ('id', 'name', 'data_collection', 'count')} == {
        'id': dataset['id'],
        'name': 'cats-v1',
        'data_collection': dc['id'],
        'count': 3,
    }
    assert [item['data'] for item in got['items']] == [{'label': 'cat0'}, {'label': 'cat1'}, {'label': 'cat2'}]
    first = got['items'][0]['data_unit']['files']['image']
    assert client.data_files.download(first['url']) == b'img-0'
    train = client.get_dataset(dataset['id'], {'category': 'train'})
    assert [item['id'] for item in train['items']] == [items[0]['id'], items[1]['id']]
    assert client.datasets.list({'fields': 'name,count'}) == [{'name': 'cats-v1', 'count': 3}]


def test_dataset_items_are_added_all_or_nothing(client: BackendClient) -> None:
    _, units = labelled_units(client, 1)
    dataset = client.datasets.create('ds')
    with pytest.raises(NotFoundError, match=r'^404: events\[1\]: Data unit 999 not found$'):
        client.datasets.add_items(dataset['id'], [{'data_unit': units[0]['id']}, {'data_unit': 999}])
    with pytest.raises(RequestValidationError, match=r'^400: events\[0\]\.data: Input should be a valid dictionary$'):
        client.datasets.add_items(dataset['id'], [{'data': [1]}])
    assert client.datasets.get_version(dataset['id'])['count'] == 0
    with pytest.raises(NotFoundError, match=r'^404: Ground truth dataset version 42 not found$'):
        client.get_dataset(42)


def test_create_model_uploads_a_file_or_a_zipped_folder(client: BackendClient, tmp_path: Path) -> None:
    weights = tmp_path / 'best.pt'
    weights.write_bytes(b'\x00weights\x01')
    single = client.create_model({'file': str(weights), 'name': 'single', 'metadata': {'map': 0.5}})
    assert (single['name'], single['metadata']) == ('single', {'map': 0.5})
    assert client.data_files.download(single['file']) == b'\x00weights\x01'

    folder = tmp_path / 'model'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'config.json').write_text('{"layers": 3}')
    (folder / 'sub' / 'weights.bin').write_bytes(b'abc')
    zipped = client.create_model({'file': folder, 'name': 'folder'})
    archive = zipfile.ZipFile(io.BytesIO(client.data_files.download(zipped['file'])))
    assert sorted(archive.namelist()) == ['config.json', 'sub/weights.bin']
    assert archive.read('sub/weights.bin') == b'abc'
    assert client.get_model(zipped['id']) == zipped

    with pytest.raises(FileNotFoundError, match=r'^Model path not found: .*missing \(expected a file or a folder'):
        client.create_model({'file': str(tmp_path / 'missing'), 'name': 'x'})
    with pytest.raises(RequestValidationError, match=r'^400: colour: Extra inputs are not permitted$'):
        client.create_model({'file': str(weights), 'name': 'x', 'colour': 'red'})
    assert [m['name'] for m in client.models.list()] == ['single', 'folder']


def test_async_client_runs_the_same_flows(tmp_path: Path) -> None:
    weights = tmp_path / 'w.bin'
    weights.write_bytes(b'w')

    async def main() -> tuple[dict, dict]:
        async with connect_local_async(tmp_path / 'async') as client:
            dataset = await client.datasets.create('ds')
            await client.datasets.add_items(dataset['id'], [{'data': {'k': 1}}])
            model = await client.create_model({'file': str(weights), 'name': 'm'})
            return await client.get_dataset(dataset['id']), model

    dataset, model = asyncio.run(main())
    assert [item['data'] for item in dataset['items']] == [{'k': 1}]
    assert (model['name'], model['file'].startswith('http://synapse.local/files/')) == ('m', True)
