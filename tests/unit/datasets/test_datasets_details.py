"""What a format says beyond boxes (COCO categories, class_names, report units) is kept or counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, read_dm, write_coco, write_dm_item, write_yolo

from synapse_sdk.plugins.datasets import get_converter


def _categories() -> list[dict]:
    person = {
        'id': 3,
        'name': 'person',
        'supercategory': 'human',
        'keypoints': ['nose', 'left_eye'],
        'skeleton': [[1, 2]],
    }
    return [person, {'id': 7, 'name': 'car', 'supercategory': 'vehicle'}]


def _coco(tmp_path: Path) -> Path:
    document = {
        'images': [{'id': 1, 'file_name': 'a.png', 'width': 100, 'height': 50}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 3, 'bbox': [10, 10, 20, 20], 'iscrowd': 0, 'area': 400},
            {'id': 2, 'image_id': 1, 'category_id': 7, 'bbox': [50, 10, 20, 20], 'iscrowd': 0, 'area': 400},
        ],
        'categories': _categories(),
    }
    return write_coco(tmp_path / 'coco', document)


def test_coco_to_coco_keeps_category_ids_supercategories_and_skeletons(tmp_path: Path):
    report = get_converter('coco', 'coco').convert(_coco(tmp_path), tmp_path / 'out')
    document = json.loads((tmp_path / 'out' / 'annotations.json').read_text())
    assert document['categories'] == _categories()
    assert [(a['id'], a['category_id']) for a in document['annotations']] == [(1, 3), (2, 7)]
    assert (report.classes, report.lossy) == ({'3': 'person', '7': 'car'}, {})


@pytest.mark.parametrize('target', ['dm_v2', 'yolo', 'pascal'])
def test_category_details_other_formats_cannot_hold_are_counted_lossy(tmp_path: Path, target: str):
    report = get_converter('coco', target).convert(_coco(tmp_path), tmp_path / 'out')
    assert report.lossy == {'category_id': 2, 'skeleton': 1, 'supercategory': 2}


def test_class_names_keep_the_category_details_of_the_names_they_keep(tmp_path: Path):
    report = get_converter('coco', 'coco', class_names=['person']).convert(_coco(tmp_path), tmp_path / 'out')
    document = json.loads((tmp_path / 'out' / 'annotations.json').read_text())
    assert document['categories'] == [{**_categories()[0], 'id': 1}]
    assert (report.annotations_skipped, report.classes) == ({'unknown_class': 1}, {'1': 'person'})


@pytest.mark.parametrize('target', ['dm_v2', 'dm_v1'])
def test_class_names_apply_to_dm_targets(tmp_path: Path, target: str):
    entry = {
        'bounding_box': [
            box('c', 'car', [1, 1, 5, 5]),
            box('d', 'dog', [10, 10, 5, 5]),
            box('p', 'person', [0, 0, 9, 9]),
        ],
        'keypoint': [{'id': 'k', 'classification': 'dog', 'attrs': [], 'data': [12, 12]}],
        'group': [{'id': 'g', 'classification': 'dog', 'attrs': [], 'data': ['d', 'k']}],
        'relation': [
            {'id': 'r1', 'classification': 'near', 'attrs': [], 'data': ['c', 'd']},
            {'id': 'r2', 'classification': 'near', 'attrs': [], 'data': ['c', 'p']},
        ],
    }
    write_dm_item(tmp_path / 'dm', 'a', entry)
    report = get_converter('dm_v2', target, class_names=['person', 'car']).convert(tmp_path / 'dm', tmp_path / 'out')
    assert (report.annotations_seen, report.annotations_written) == (5, 3)  # the dog box with its keypoint is 1
    assert (report.annotations_skipped, report.lossy) == ({'unknown_class': 1}, {'relation': 1})
    assert report.classes == {'0': 'person', '1': 'car'}
    assert report.problems[0].message == "class 'dog' is not in class_names"
    document = json.loads((tmp_path / 'out' / 'json' / 'a.json').read_text())
    if target == 'dm_v1':
        assert [a['id'] for a in document['annotations']['image_1']] == ['c', 'p', 'r2']
        return
    classification = {'bounding_box': ['car', 'person'], 'keypoint': ['dog'], 'group': ['dog'], 'relation': ['near']}
    assert document['classification'] == classification  # class_names filter the classes of boxes and shapes
    assert {tool: [a['id'] for a in anns] for tool, anns in document['images'][0].items()} == {
        'bounding_box': ['c', 'p'],
        'keypoint': [],
        'group': [],
        'relation': ['r2'],
    }


def test_yolo_pose_to_dm_counts_rows_on_both_sides(tmp_path: Path):
    rows = '0 .5 .5 .2 .2 .4 .4 2 .6 .6 1\n0 .3 .3 .2 .2 .3 .3 2 0 0 0\n0 .5 .5\n'
    root = write_yolo(tmp_path / 'y', {'a': rows}, (100, 100), ['person'], kpt_shape=[2, 3])
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    counts = (report.annotations_seen, report.annotations_written, report.annotations_skipped)
    assert counts == (3, 2, {'too_few_values': 1})
    assert {tool: len(anns) for tool, anns in read_dm(tmp_path / 'dm')['a'].items()} == {
        'bounding_box': 2,
        'keypoint': 3,
        'group': 2,
    }
    again = get_converter('dm_v2', 'coco').convert(tmp_path / 'dm', tmp_path / 'coco')
    assert (again.annotations_seen, again.annotations_written) == (2, 2)
