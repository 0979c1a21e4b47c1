"""COCO's common layouts, `dataset convert` exit codes, and a YOLO dataset that can be moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.dataset_builders import box, read_dm, write_dm_item, write_png
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import get_converter

runner = CliRunner()


def coco_document(*names: str) -> dict[str, Any]:
    images = [{'id': i, 'file_name': name, 'width': 40, 'height': 20} for i, name in enumerate(names, 1)]
    annotations = [
        {'id': i, 'image_id': i, 'category_id': 1, 'bbox': [1, 2, 10, 8], 'area': 80, 'iscrowd': 0}
        for i in range(1, len(names) + 1)
    ]
    return {'images': images, 'annotations': annotations, 'categories': [{'id': 1, 'name': 'car'}]}


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding='utf-8')


def convert(source: Path, target: Path, *options: str) -> Any:
    return runner.invoke(
        app, ['dataset', 'convert', str(source), str(target), '--from', 'coco', '--to', 'dm_v2', *options]
    )


@pytest.mark.parametrize('images', ['.', 'images', 'images/train'], ids=['beside', 'images', 'images-split'])
def test_flat_coco_finds_its_images(tmp_path: Path, images: str):
    root = tmp_path / 'coco'
    write_json(root / 'annotations.json', coco_document('a.png', 'b.png'))
    for name in ('a.png', 'b.png'):
        write_png(root / images / name, 40, 20)
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.items_skipped, report.annotations_written) == (2, [], 2)
    assert read_dm(tmp_path / 'dm')['a']['bounding_box'][0]['data'] == [1, 2, 10, 8]


@pytest.mark.parametrize('images', ['{split}', 'images/{split}'], ids=['split', 'images-split'])
def test_the_standard_annotations_folder_is_read_per_split(tmp_path: Path, images: str):
    root = tmp_path / 'coco'
    for name, stem in (('train2017', 'a'), ('val2017', 'b')):
        write_json(root / 'annotations' / f'instances_{name}.json', coco_document(f'{stem}.png'))
        write_png(root / images.format(split=name) / f'{stem}.png', 40, 20)
    write_json(root / 'annotations' / 'person_keypoints_val2017.json', coco_document('ignored.png'))
    write_json(root / 'annotations' / 'captions_val2017.json', {'images': [], 'annotations': []})
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.items_skipped) == (2, [])
    written = sorted(p.relative_to(tmp_path / 'dm').as_posix() for p in (tmp_path / 'dm').rglob('*.json'))
    assert written == ['train/json/a.json', 'valid/json/b.json']
    one = get_converter('coco', 'dm_v2').convert(root / 'annotations' / 'instances_val2017.json', tmp_path / 'one')
    assert (one.items_written, one.items_skipped) == (1, [])


def test_split_folders_with_images_in_an_images_folder(tmp_path: Path):
    root = tmp_path / 'coco'
    for split, stem in (('train', 'a'), ('valid', 'b')):
        write_json(root / split / '_annotations.coco.json', coco_document(f'{stem}.png'))
        write_png(root / split / 'images' / f'{stem}.png', 40, 20)
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.items_skipped) == (2, [])


def test_two_files_of_one_split_are_refused_with_the_fix(tmp_path: Path):
    root = tmp_path / 'coco'
    write_json(root / 'annotations' / 'instances_train2014.json', coco_document('a.png'))
    write_json(root / 'annotations' / 'instances_train2017.json', coco_document('a.png'))
    with pytest.raises(ValidationError, match=r'both the train split; convert one at a time \(pass the file'):
        get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')


def test_missing_images_exit_3_saying_where_it_looked(tmp_path: Path):
    root = tmp_path / 'coco'
    write_json(root / 'annotations.json', coco_document('a.png', 'b.png'))
    (root / 'images').mkdir()
    result = convert(root, tmp_path / 'dm', '--json')
    assert result.exit_code == 3, result.output
    assert ' '.join(result.stderr.split()) == (
        'Error: nothing written: 2 of 2 items skipped (image_missing: 2); '
        'first: annotations.json: no image a.png (looked in ./, images/)'
    )
    report = json.loads(result.stdout)
    assert report['items_written'] == 0
    assert [p['message'] for p in report['problems']] == [
        'no image a.png (looked in ./, images/)',
        'no image b.png (looked in ./, images/)',
    ]


def test_the_standard_layout_names_its_folders_too(tmp_path: Path):
    root = tmp_path / 'coco'
    write_json(root / 'annotations' / 'instances_val2017.json', coco_document('a.png'))
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')
    assert [p.message for p in report.problems] == ['no image a.png (looked in val2017/, images/val2017/, images/, ./)']


def test_an_empty_source_exits_3(tmp_path: Path):
    write_json(tmp_path / 'coco' / 'annotations.json', {'images': [], 'annotations': [], 'categories': []})
    result = convert(tmp_path / 'coco', tmp_path / 'dm')
    assert (result.exit_code, result.stderr) == (3, 'Error: nothing written: the source holds no items\n')


def test_some_items_skipped_exit_4_and_the_rest_is_written(tmp_path: Path):
    root = tmp_path / 'coco'
    write_json(root / 'annotations.json', coco_document('a.png', 'gone.png'))
    write_png(root / 'a.png', 40, 20)
    result = convert(root, tmp_path / 'dm')
    assert result.exit_code == 4, result.output
    assert ' '.join(result.stderr.split()) == (
        'Warning: 1 of 2 items skipped (image_missing: 1); first: annotations.json: no image gone.png '
        '(looked in ./, images/); the other 1 were written'
    )
    assert sorted(read_dm(tmp_path / 'dm')) == ['a']


def test_all_converted_exits_0(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    result = runner.invoke(
        app, ['dataset', 'convert', str(tmp_path / 'dm'), str(tmp_path / 'y'), '--from', 'dm_v2', '--to', 'yolo']
    )
    assert (result.exit_code, result.stderr) == (0, '')


def test_the_exit_codes_are_in_the_help():
    result = runner.invoke(app, ['dataset', 'convert', '--help'], terminal_width=200)
    text = ' '.join(result.stdout.split())
    assert 'Exit codes: 0 every item was converted' in text
    assert '3 nothing written' in text and '4 some items were skipped, the rest was written' in text


def test_a_converted_yolo_dataset_can_be_moved(tmp_path: Path):
    for split, stem in (('train', 'a'), ('valid', 'b')):
        write_dm_item(tmp_path / 'dm' / split, stem, {'bounding_box': [box('x', 'car', [10, 20, 50, 40])]})
    get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'y')
    config = yaml.safe_load((tmp_path / 'y' / 'dataset.yaml').read_text())
    assert (config['path'], config['train'], config['val']) == ('.', 'train/images', 'valid/images')
    moved = tmp_path / 'elsewhere' / 'deeper' / 'y'
    moved.parent.mkdir(parents=True)
    shutil.move(tmp_path / 'y', moved)
    report = get_converter('yolo', 'dm_v2').convert(moved, tmp_path / 'back')
    assert (report.items_written, report.items_skipped, report.annotations_written) == (2, [], 2)
    assert read_dm(tmp_path / 'back')['a']['bounding_box'][0]['data'] == [10, 20, 50, 40]


def test_a_relative_path_is_read_from_the_yaml_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / 'ds'
    for split, stem in (('tr', 'a'), ('va', 'b')):
        write_png(root / 'data' / 'images' / split / f'{stem}.png', 100, 100)
        (root / 'data' / 'labels' / split).mkdir(parents=True)
        (root / 'data' / 'labels' / split / f'{stem}.txt').write_text('0 .5 .5 .2 .2\n')
    config = {'path': 'data', 'train': 'images/tr', 'val': 'images/va', 'names': ['car']}
    (root / 'dataset.yaml').write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)  # not the dataset's folder: `path` must not be read from here
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.items_skipped) == (2, [])
