"""The worked examples of spec/formats.md hold exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, read_dm, write_dm_item, write_png, write_yolo

from synapse_sdk.plugins.datasets import dm_v1_to_v2, dm_v2_to_v1, get_converter
from synapse_sdk.plugins.datasets._paths import split_for


def test_dm_box_to_yolo_row(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'img', {'bounding_box': [box('a1', 'car', [10, 20, 50, 40])]}, size=(200, 100))
    report = get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'out')
    assert (tmp_path / 'out' / 'labels' / 'img.txt').read_text() == '0 0.175000 0.400000 0.250000 0.400000\n'
    assert report.classes == {'0': 'car'}


def test_dm_polygon_to_one_segment_row(tmp_path: Path):
    polygon = {'id': 'p1', 'classification': 'person', 'attrs': [], 'data': [[1, 2], [5, 2], [5, 9]]}
    write_dm_item(tmp_path / 'dm', 'img', {'polygon': [polygon]}, size=(200, 100))
    get_converter('dm_v2', 'yolo', yolo_task='segment').convert(tmp_path / 'dm', tmp_path / 'out')
    text = (tmp_path / 'out' / 'labels' / 'img.txt').read_text()
    assert text == '0 0.005000 0.020000 0.025000 0.020000 0.025000 0.090000\n'


def test_yolo_row_to_dm_box_and_unnamed_class_and_short_row(tmp_path: Path):
    write_yolo(tmp_path / 'y', {'img': '0 .5 .5 .2 .4\n5 .5 .5 .2 .4\n1 .5 .5\n'}, size=(100, 200))  # no names
    report = get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'out')
    entry = read_dm(tmp_path / 'out')['img']
    assert entry == {
        'bounding_box': [
            {'id': 'r1', 'classification': 'class_0', 'attrs': [], 'data': [40, 60, 20, 80]},
            {'id': 'r2', 'classification': 'class_5', 'attrs': [], 'data': [40, 60, 20, 80]},
        ]
    }
    assert report.annotations_skipped == {'too_few_values': 1}
    assert report.classes == {'0': 'class_0', '5': 'class_5'}


@pytest.mark.parametrize('declared', ['names', 'nc', 'classes.txt'])
def test_yolo_class_id_beyond_the_declared_names_is_out_of_range(tmp_path: Path, declared: str):
    root = write_yolo(tmp_path / 'y', {'img': '0 .5 .5 .2 .4\n5 .5 .5 .2 .4\n'}, size=(100, 200))
    if declared == 'names':
        (root / 'dataset.yaml').write_text('names: [car, person]\n')
    elif declared == 'nc':
        (root / 'dataset.yaml').write_text('nc: 2\n')
    else:
        (root / 'classes.txt').write_text('car\nperson\n')
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')
    assert report.annotations_skipped == {'class_out_of_range': 1}
    assert [p.model_dump(mode='json') for p in report.problems] == [
        {
            'file': 'labels/img.txt',
            'line': 2,
            'reason': 'class_out_of_range',
            'message': 'class id 5 is not declared (nc 2)',
        }
    ]
    names = ['class_0', 'class_1'] if declared == 'nc' else ['car', 'person']
    assert report.classes == {'0': names[0], '1': names[1]}
    assert [b['classification'] for b in read_dm(tmp_path / 'out')['img']['bounding_box']] == [names[0]]


def test_dm_v1_to_v2_example():
    v1 = {
        'assignmentId': 7,
        'extra': {},
        'annotations': {
            'image_1': [
                {
                    'id': 'b1',
                    'tool': 'boundingBox',
                    'isLocked': False,
                    'isVisible': True,
                    'classification': {'class': 'car', 'color': 'red'},
                }
            ]
        },
        'annotationsData': {'image_1': [{'id': 'b1', 'coordinate': {'x': 1, 'y': 2, 'width': 3, 'height': 4}}]},
        'relations': {},
        'annotationGroups': {},
    }
    converted = dm_v1_to_v2(v1)
    assert converted == {
        'annotation_data': {
            'classification': {'bounding_box': ['car']},
            'images': [
                {
                    'bounding_box': [
                        {
                            'id': 'b1',
                            'classification': 'car',
                            'attrs': [{'name': 'color', 'value': 'red'}],
                            'data': [1, 2, 3, 4],
                        }
                    ]
                }
            ],
        },
        'annotation_meta': {
            'annotationGroups': {},
            'annotations': v1['annotations'],
            'annotationsData': v1['annotationsData'],
            'assignmentId': 7,
            'extra': {},
            'relations': {},
        },
    }
    assert dm_v2_to_v1(converted['annotation_data'], converted['annotation_meta'])['annotations'] == {
        'image_1': [
            {
                'id': 'b1',
                'tool': 'boundingBox',
                'isLocked': False,
                'isVisible': True,
                'classification': {'class': 'car', 'color': 'red'},
                'isValid': True,
                'isDrawCompleted': True,
                'label': ['car'],
            }
        ]
    }


def test_dm_v2_to_v1_fills_our_defaults():
    v2 = {
        'images': [
            {'polygon': [{'id': 'p1', 'classification': 'person', 'attrs': [], 'data': [[1, 2], [5, 2], [5, 9]]}]}
        ]
    }
    assert dm_v2_to_v1(v2) == {
        'assignmentId': None,
        'extra': {},
        'annotations': {
            'image_1': [
                {
                    'id': 'p1',
                    'tool': 'polygon',
                    'classification': {'class': 'person'},
                    'isLocked': False,
                    'isVisible': True,
                    'isValid': True,
                    'isDrawCompleted': True,
                    'label': ['person'],
                }
            ]
        },
        'annotationsData': {
            'image_1': [{'id': 'p1', 'coordinate': [{'x': 1, 'y': 2}, {'x': 5, 'y': 2}, {'x': 5, 'y': 9}]}]
        },
        'relations': {},
        'annotationGroups': {},
    }


def test_report_shape_matches_spec(tmp_path: Path):
    labels = {f'img{i}': '0 .5 .5 .2 .2\n1 .4 .4 .1 .1\n' for i in range(4)}
    labels['img0'] += '1 .5\n1 .5 .5\n'
    write_yolo(tmp_path / 'y', labels, size=(64, 32), names=['car', 'person'])
    (tmp_path / 'y' / 'labels' / 'img3b.txt').write_text('0 .5 .5 .2 .2\n')  # no image
    report = get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'out')
    dumped = report.model_dump(mode='json', exclude={'problems', 'output'}, exclude_none=True)
    assert dumped == {
        'source': 'yolo',
        'target': 'dm_v2',
        'items_seen': 5,
        'items_written': 4,
        'items_skipped': [{'item': 'img3b', 'reason': 'image_missing', 'detail': 'a label file without an image'}],
        'annotations_seen': 10,
        'annotations_written': 8,
        'annotations_skipped': {'too_few_values': 2},
        'clamped': 0,
        'lossy': {},
        'classes': {'0': 'car', '1': 'person'},
    }


def test_unknown_pair_lists_supported_ids():
    with pytest.raises(
        ValueError, match=r"^Unknown target format 'tfrecord'; supported formats: dm_v1, dm_v2, yolo, coco, pascal$"
    ):
        get_converter('coco', 'tfrecord')


def test_voc_mapping_has_no_offset_and_sha1_split(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    get_converter('dm_v2', 'pascal').convert(tmp_path / 'dm', tmp_path / 'voc')
    xml = (tmp_path / 'voc' / 'Annotations' / 'a.xml').read_text()
    assert '<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>60</xmax><ymax>60</ymax></bndbox>' in xml
    expected_list = 'train' if split_for('a') == 'train' else 'val'
    assert (tmp_path / 'voc' / 'ImageSets' / 'Main' / f'{expected_list}.txt').read_text() == 'a\n'
    assert [split_for(s) for s in ('a', 'b', 'c', 'img7')] == [
        'train' if __import__('hashlib').sha1(s.encode()).digest()[0] < 205 else 'valid'
        for s in ('a', 'b', 'c', 'img7')
    ]


def test_coco_sizes_come_from_json_not_image(tmp_path: Path):
    root = tmp_path / 'coco'
    write_png(root / 'a.png', 10, 10)  # the header disagrees with the JSON on purpose
    document = {
        'images': [{'id': 1, 'file_name': 'a.png', 'width': 200, 'height': 100}],
        'annotations': [
            {
                'id': 1,
                'image_id': 1,
                'category_id': 1,
                'bbox': [10, 20, 50, 40],
                'area': 2000,
                'iscrowd': 0,
                'segmentation': [],
            }
        ],
        'categories': [{'id': 1, 'name': 'car', 'supercategory': ''}],
    }
    (root / 'annotations.json').write_text(json.dumps(document))
    get_converter('coco', 'yolo').convert(root, tmp_path / 'out')
    assert (tmp_path / 'out' / 'labels' / 'a.txt').read_text() == '0 0.175000 0.400000 0.250000 0.400000\n'
