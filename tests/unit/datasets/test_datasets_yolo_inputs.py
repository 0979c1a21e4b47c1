"""YOLO input variants (class names, folders, row types, Ultralytics layout) and YOLO output of clipped boxes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.support.dataset_builders import box, read_dm, write_coco, write_dm_item, write_png, write_yolo
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.plugins.datasets import get_converter, validate_dataset


def test_classes_txt_names_the_ids_when_there_is_no_dataset_yaml(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '1 .5 .5 .2 .2\n0 .25 .25 .1 .1\n'}, (100, 100))
    (root / 'classes.txt').write_text('car\nperson\n')
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')
    assert report.classes == {'0': 'car', '1': 'person'}
    assert [(b['classification'], b['data']) for b in read_dm(tmp_path / 'out')['a']['bounding_box']] == [
        ('person', [40, 40, 20, 20]),
        ('car', [20, 20, 10, 10]),
    ]


def test_a_names_map_in_dataset_yaml_is_read_in_id_order(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '1 .5 .5 .2 .2\n'}, (100, 100))
    (root / 'dataset.yaml').write_text('names:\n  1: person\n  0: car\n')
    report = get_converter('yolo', 'coco').convert(root, tmp_path / 'out')
    assert report.classes == {'1': 'car', '2': 'person'}
    document = json.loads((tmp_path / 'out' / 'annotations.json').read_text())
    assert [(a['category_id'], a['bbox']) for a in document['annotations']] == [(2, [40, 40, 20, 20])]


@pytest.mark.parametrize('folder', ['img', 'imgs'])
def test_img_and_imgs_folders_hold_the_images(tmp_path: Path, folder: str):
    write_png(tmp_path / 'y' / folder / 'a.png', 100, 100)
    (tmp_path / 'y' / 'labels').mkdir()
    (tmp_path / 'y' / 'labels' / 'a.txt').write_text('0 .5 .5 .2 .2\n')
    report = get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'out')
    assert (report.items_written, report.annotations_written) == (1, 1)
    assert (tmp_path / 'out' / 'original_files' / 'a.png').is_file()


def test_an_11_token_row_without_kpt_shape_is_a_polygon(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2 .4 .4 .2 .6 .6 .1\n'}, (100, 100), ['car'])
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')
    assert report.annotations_skipped == {}
    assert read_dm(tmp_path / 'out')['a'] == {
        'polygon': [
            {
                'id': 'r1',
                'classification': 'car',
                'attrs': [],
                'data': [[50, 50], [20, 20], [40, 40], [20, 60], [60, 10]],
            }
        ]
    }


def test_segment_rows_read_as_polygons_and_write_as_coco_segmentation(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '0 .1 .1 .5 .1 .5 .5\n'}, (200, 100), ['car'])
    get_converter('yolo', 'coco').convert(root, tmp_path / 'coco')
    document = json.loads((tmp_path / 'coco' / 'annotations.json').read_text())
    assert document['annotations'] == [
        {
            'bbox': [20, 10, 80, 40],
            'area': 1600.0,
            'iscrowd': 0,
            'segmentation': [[20, 10, 100, 10, 100, 50]],
            'id': 1,
            'image_id': 1,
            'category_id': 1,
        }
    ]
    get_converter('yolo', 'yolo', yolo_task='segment').convert(root, tmp_path / 'again')
    assert (tmp_path / 'again' / 'labels' / 'a.txt').read_text() == (
        '0 0.100000 0.100000 0.500000 0.100000 0.500000 0.500000\n'
    )


def test_pose_with_two_values_per_keypoint(tmp_path: Path):
    row = '0 0.500000 0.500000 0.200000 0.200000 0.400000 0.400000 0.600000 0.600000\n'
    root = write_yolo(tmp_path / 'y', {'a': row}, (100, 100), ['person'], kpt_shape=[2, 2])
    get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    entry = read_dm(tmp_path / 'dm')['a']
    assert [(k['data'], k['attrs']) for k in entry['keypoint']] == [([40, 40], []), ([60, 60], [])]
    get_converter('yolo', 'coco').convert(root, tmp_path / 'coco')
    annotation = json.loads((tmp_path / 'coco' / 'annotations.json').read_text())['annotations'][0]
    assert (annotation['keypoints'], annotation['num_keypoints']) == ([40, 40, 2, 60, 60, 2], 2)
    get_converter('yolo', 'yolo', yolo_task='pose').convert(root, tmp_path / 'again')
    assert (tmp_path / 'again' / 'labels' / 'a.txt').read_text() == row
    assert yaml.safe_load((tmp_path / 'again' / 'dataset.yaml').read_text())['kpt_shape'] == [2, 2]


def test_pose_output_of_boxes_without_keypoints_reads_back_without_keypoints(tmp_path: Path):
    keypoints = [
        {'id': 'k1', 'classification': 'person', 'attrs': [], 'data': [50, 20]},
        {'id': 'k3', 'classification': 'person', 'attrs': [], 'data': [60, 30]},
    ]
    entry = {
        'bounding_box': [box('lone', 'person', [10, 10, 20, 20]), box('p', 'person', [40, 10, 40, 40])],
        'keypoint': keypoints,
        'group': [{'id': 'g', 'classification': 'person', 'attrs': [], 'data': ['p', 'k1', 'k3']}],
    }
    write_dm_item(tmp_path / 'dm', 'a', entry)
    get_converter('dm_v2', 'yolo', yolo_task='pose', kpt_shape=(3, 3)).convert(tmp_path / 'dm', tmp_path / 'y')
    assert (tmp_path / 'y' / 'labels' / 'a.txt').read_text() == (
        '0 0.100000 0.200000 0.100000 0.200000 0 0 0 0 0 0 0 0 0\n'
        '0 0.300000 0.300000 0.200000 0.400000 0.250000 0.200000 2 0.300000 0.300000 2 0 0 0\n'
    )
    get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'back')
    back = read_dm(tmp_path / 'back')['a']
    assert [b['data'] for b in back['bounding_box']] == [[10, 10, 20, 20], [40, 10, 40, 40]]
    assert [(k['id'], k['data']) for k in back['keypoint']] == [('r2_k0', [50, 20]), ('r2_k1', [60, 30])]
    assert [g['data'] for g in back['group']] == [['r2', 'r2_k0', 'r2_k1']]


def test_a_missing_keypoint_before_a_present_one_keeps_the_index(tmp_path: Path):
    row = '0 .5 .5 .2 .2 0 0 0 .6 .6 2 0 0 0\n'
    root = write_yolo(tmp_path / 'y', {'a': row}, (100, 100), ['person'], kpt_shape=[3, 3])
    get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    points = read_dm(tmp_path / 'dm')['a']['keypoint']
    assert [(k['data'], k['attrs']) for k in points] == [
        ([0, 0], [{'name': 'visibility', 'value': 0}]),
        ([60, 60], [{'name': 'visibility', 'value': 2}]),
    ]


def test_flip_idx_survives_yolo_pose_and_is_counted_lossy_elsewhere(tmp_path: Path):
    row = '0 .5 .5 .2 .2 .4 .4 2 .6 .6 2\n'
    root = write_yolo(tmp_path / 'y', {'a': row}, (100, 100), ['person'], kpt_shape=[2, 3], flip_idx=[1, 0])
    report = get_converter('yolo', 'yolo', yolo_task='pose').convert(root, tmp_path / 'again')
    assert yaml.safe_load((tmp_path / 'again' / 'dataset.yaml').read_text())['flip_idx'] == [1, 0]
    assert report.lossy == {}
    report = get_converter('yolo', 'coco').convert(root, tmp_path / 'coco')
    assert report.lossy == {'flip_idx': 1}


def _ultralytics(root: Path, with_yaml: bool) -> Path:
    for split, stem in (('train', 'x'), ('val', 'y'), ('test', 'z')):
        write_png(root / 'images' / split / f'{stem}.png', 100, 100)
        (root / 'labels' / split).mkdir(parents=True)
        (root / 'labels' / split / f'{stem}.txt').write_text('0 .5 .5 .2 .2\n')
    if with_yaml:
        config = {'path': '.', 'train': 'images/train', 'val': 'images/val', 'test': 'images/test', 'names': ['car']}
        (root / 'dataset.yaml').write_text(yaml.safe_dump(config))
    return root


@pytest.mark.parametrize('with_yaml', [True, False], ids=['dataset.yaml', 'folders'])
def test_ultralytics_images_split_layout_reads_splits(tmp_path: Path, with_yaml: bool):
    root = _ultralytics(tmp_path / 'y', with_yaml)
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.annotations_written, report.items_skipped) == (3, 3, [])
    assert sorted(p.relative_to(tmp_path / 'dm').as_posix() for p in (tmp_path / 'dm').rglob('*.json')) == [
        'test/json/z.json',
        'train/json/x.json',
        'valid/json/y.json',
    ]
    (root / 'labels' / 'val' / 'orphan.txt').write_text('0 .5 .5 .2 .2\n')
    check = validate_dataset(root, 'yolo')
    assert [(s.item, s.reason.value) for s in check.items_skipped] == [('valid/orphan', 'image_missing')]


def test_one_label_file_of_the_ultralytics_layout_converts(tmp_path: Path):
    root = _ultralytics(tmp_path / 'y', with_yaml=True)
    report = get_converter('yolo', 'coco').convert(root / 'labels' / 'val' / 'y.txt', tmp_path / 'coco')
    assert (report.items_written, report.classes) == (1, {'1': 'car'})
    document = json.loads((tmp_path / 'coco' / 'annotations.json').read_text())
    assert document['images'] == [{'id': 1, 'file_name': 'y.png', 'width': 100, 'height': 100}]


def test_out_of_range_class_fails_validate_at_file_and_line(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n7 .5 .5 .2 .2\n'}, (100, 100), ['car', 'person'])
    result = CliRunner().invoke(app, ['dataset', 'validate', str(root), '--format', 'yolo'])
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: labels/a.txt:2: class_out_of_range: class id 7 is not declared (nc 2)\n',
    )
    report = get_converter('yolo', 'coco').convert(root, tmp_path / 'coco')
    assert (report.annotations_skipped, report.classes) == ({'class_out_of_range': 1}, {'1': 'car', '2': 'person'})


@pytest.mark.parametrize(
    ('task', 'rows'),
    [
        ('detect', ['0 0.975000 0.400000 0.050000 0.400000', '0 0.050000 0.200000 0.100000 0.200000']),
        (
            'segment',
            [
                '0 0.950000 0.200000 1.000000 0.200000 1.000000 0.600000 0.950000 0.600000',
                '0 0.000000 0.100000 0.100000 0.100000 0.100000 0.300000 0.000000 0.300000',
            ],
        ),
    ],
)
def test_boxes_leaving_the_image_are_clipped_for_yolo(tmp_path: Path, task: str, rows: list[str]):
    entry = {
        'bounding_box': [
            box('right', 'car', [190, 20, 50, 40]),
            box('left', 'car', [-30, 10, 50, 20]),
            box('gone', 'car', [300, 20, 10, 10]),
        ]
    }
    write_dm_item(tmp_path / 'dm', 'a', entry, size=(200, 100))
    report = get_converter('dm_v2', 'yolo', yolo_task=task).convert(tmp_path / 'dm', tmp_path / 'y')
    assert (tmp_path / 'y' / 'labels' / 'a.txt').read_text().splitlines() == rows
    # one moved edge per box; the third box has nothing inside the image
    assert (report.clamped, report.annotations_written, report.annotations_skipped) == (3, 2, {'out_of_image': 1})
    assert report.problems[0].model_dump(mode='json') == {
        'file': 'json/a.json',
        'line': None,
        'reason': 'out_of_image',
        'message': 'box outside image',
    }
    get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'back')
    back = read_dm(tmp_path / 'back')['a']
    tool = 'bounding_box' if task == 'detect' else 'polygon'
    visible = [[[190, 20], [200, 20], [200, 60], [190, 60]], [[0, 10], [20, 10], [20, 30], [0, 30]]]
    expected = [[190, 20, 10, 40], [0, 10, 20, 20]] if task == 'detect' else visible
    assert [b['data'] for b in back[tool]] == expected


def test_coco_boxes_leaving_the_image_are_clipped_for_yolo(tmp_path: Path):
    document = {
        'images': [{'id': 1, 'file_name': 'a.png', 'width': 200, 'height': 100}],
        'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [190, 20, 50, 40], 'iscrowd': 0}],
        'categories': [{'id': 1, 'name': 'car'}],
    }
    root = write_coco(tmp_path / 'coco', document)
    report = get_converter('coco', 'yolo').convert(root, tmp_path / 'y')
    assert (tmp_path / 'y' / 'labels' / 'a.txt').read_text() == '0 0.975000 0.400000 0.050000 0.400000\n'
    assert report.clamped == 1
