"""``DatasetAction`` run through the real ``LocalExecutor``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest
from tests.support.dataset_builders import box, write_dm_item

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetResult
from synapse_sdk.plugins.actions.dataset.download import fetch_dataset
from synapse_sdk.plugins.executors import LocalExecutor


def _executor() -> LocalExecutor:
    return LocalExecutor(logger_factory=NoOpLogger)


def test_convert_operation_returns_the_report(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    params = {
        'operation': 'convert',
        'source': str(tmp_path / 'dm'),
        'output': str(tmp_path / 'y'),
        'source_format': 'dm_v2',
        'target_format': 'yolo',
    }
    result = _executor().execute(DatasetAction, params)
    result = DatasetResult.model_validate(result)
    assert result.report is not None
    assert (result.report.items_written, result.report.classes) == (1, {'0': 'car'})
    assert (tmp_path / 'y' / 'labels' / 'a.txt').read_text() == '0 0.175000 0.400000 0.250000 0.400000\n'


def test_convert_needs_a_source_format(tmp_path: Path):
    with pytest.raises(ValidationError, match='source_format is required to convert'):
        _executor().execute(DatasetAction, {'source': str(tmp_path), 'output': str(tmp_path / 'o')})


def test_download_extracts_a_local_zip(tmp_path: Path):
    archive = tmp_path / 'd.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        zf.writestr('json/a.json', '{}')
        zf.writestr('original_files/a.png', b'x')
    result = _executor().execute(
        DatasetAction, {'operation': 'download', 'source': str(archive), 'output': str(tmp_path / 'ds')}
    )
    assert DatasetResult.model_validate(result).files == 2
    assert sorted(p.relative_to(tmp_path / 'ds').as_posix() for p in (tmp_path / 'ds').rglob('*.*')) == [
        'json/a.json',
        'original_files/a.png',
    ]


def test_download_over_http_refuses_traversal_and_redacts_the_url(tmp_path: Path):
    buffer = tmp_path / 'evil.zip'
    with zipfile.ZipFile(buffer, 'w') as zf:
        zf.writestr('../outside.txt', 'x')
    body = buffer.read_bytes()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    url = 'https://bucket.example/d.zip?X-Amz-Signature=abcdef123456'
    with pytest.raises(ValidationError, match=r"^dataset.zip: unsafe member path '../outside.txt'"):
        fetch_dataset(url, tmp_path / 'out', transport=transport)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['evil.zip']
    failing = httpx.MockTransport(lambda request: httpx.Response(403))
    with pytest.raises(ValidationError) as info:
        fetch_dataset(url, tmp_path / 'out', transport=failing)
    assert str(info.value) == 'Download failed: HTTP 403 for https://bucket.example/d.zip?X-Amz-Signature=***'
