"""`synapse dataset` commands, header-only image sizes, streaming JSON, image modes, cheap import."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image
from tests.support.dataset_builders import box, write_dm_item, write_yolo
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.plugins.datasets import _jsonstream as jsonstream
from synapse_sdk.plugins.datasets import get_converter, image_size

runner = CliRunner()


def test_cli_convert_prints_the_report(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    result = runner.invoke(
        app,
        ['dataset', 'convert', str(tmp_path / 'dm'), str(tmp_path / 'y'), '--from', 'dm_v2', '--to', 'yolo', '--json'],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report['items_written'], report['annotations_written'], report['classes']) == (1, 1, {'0': 'car'})
    table = runner.invoke(
        app, ['dataset', 'convert', str(tmp_path / 'dm'), str(tmp_path / 'y2'), '--from', 'dm_v2', '--to', 'coco']
    )
    assert table.exit_code == 0
    assert 'items seen / written       │ 1 / 1' in table.stdout


def test_cli_convert_errors_are_one_line(tmp_path: Path):
    result = runner.invoke(
        app, ['dataset', 'convert', str(tmp_path / 'nope'), str(tmp_path / 'y'), '--from', 'coco', '--to', 'yolo']
    )
    assert result.exit_code == 1
    assert result.stderr == f'Error: Source {tmp_path / "nope"} does not exist\n'
    bad = runner.invoke(app, ['dataset', 'convert', str(tmp_path), str(tmp_path / 'y'), '--from', 'coco', '--to', 'tf'])
    assert bad.stderr == "Error: Unknown target format 'tf'; supported formats: dm_v1, dm_v2, yolo, coco, pascal\n"


def test_cli_validate_points_at_first_bad_file_and_line(tmp_path: Path):
    write_yolo(
        tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n', 'b': '0 .5 .5 .2 .2\n\n0 .5 .5 .2 .2 .1\n0 1\n'}, (8, 8), ['car']
    )
    result = runner.invoke(app, ['dataset', 'validate', str(tmp_path / 'y'), '--format', 'yolo'])
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: labels/b.txt:3: bad_token_count: 6 values fit no row type (5 = box, odd >= 7 = polygon) (and 1 more)\n'
    )
    (tmp_path / 'y' / 'labels' / 'b.txt').write_text('0 .5 .5 .2 .2\n')
    good = runner.invoke(app, ['dataset', 'validate', str(tmp_path / 'y'), '-f', 'yolo'])
    assert (good.exit_code, good.stdout) == (0, 'OK: 2 items, 2 annotations (yolo)\n')


@pytest.mark.parametrize('fmt', ['PNG', 'JPEG', 'BMP', 'WEBP', 'GIF'])
def test_image_size_reads_headers(tmp_path: Path, fmt: str):
    buffer = io.BytesIO()
    Image.new('RGB', (37, 21)).save(buffer, format=fmt)
    path = tmp_path / f'x.{fmt.lower()}'
    path.write_bytes(buffer.getvalue())
    assert image_size(path) == (37, 21)
    path.write_bytes(buffer.getvalue()[:8])
    assert image_size(path) is None
    assert image_size(tmp_path / 'missing.png') is None


def test_json_stream_handles_chunk_boundaries_and_truncation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(jsonstream, '_CHUNK', 7)
    document = {
        'info': {'a': [1, {'b': '}]'}]},
        'images': [{'id': i, 'file_name': f'a}}"{i}.jpg', 'width': 10, 'height': 5} for i in range(12)],
        'annotations': [
            {'id': i, 'segmentation': {'counts': 'ab}c', 'size': [2, 3]}, 'bbox': [1.5e2, -2, 3, 4]} for i in range(15)
        ],
        'n': -1.5e-3,
    }
    raw = json.dumps(document, indent=1).encode()
    path = tmp_path / 'a.json'
    path.write_bytes(raw)
    found = list(jsonstream.iter_top_level_arrays(path, frozenset({'images', 'annotations'})))
    assert [e for k, _, _, e in found if k == 'images'] == document['images']
    assert [e for k, _, _, e in found if k == 'annotations'] == document['annotations']
    assert all(json.loads(raw[offset : offset + length]) == e for _, offset, length, e in found)
    for cut in range(1, len(raw) - 1, 29):
        path.write_bytes(raw[:cut])
        with pytest.raises(jsonstream.JsonStreamError):
            list(jsonstream.iter_top_level_arrays(path, frozenset({'images', 'annotations'})))


@pytest.mark.parametrize('mode', ['copy', 'link', 'symlink', 'none'])
def test_image_modes_place_each_image_once(tmp_path: Path, mode: str):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    source = tmp_path / 'dm' / 'original_files' / 'a.png'
    get_converter('dm_v2', 'yolo', images=mode).convert(tmp_path / 'dm', tmp_path / 'y')
    placed = tmp_path / 'y' / 'images' / 'a.png'
    if mode == 'none':
        assert not placed.exists()
        return
    assert placed.read_bytes() == source.read_bytes()
    assert placed.is_symlink() == (mode == 'symlink')
    assert os.path.samefile(placed, source) == (mode in ('link', 'symlink'))


def test_single_file_conversion(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    write_dm_item(tmp_path / 'dm', 'other', {'bounding_box': [box('b', 'car', [1, 1, 1, 1])]})
    report = get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm' / 'json' / 'a.json', tmp_path / 'y')
    assert report.items_seen == 1
    assert sorted(os.listdir(tmp_path / 'y' / 'labels')) == ['a.txt']
