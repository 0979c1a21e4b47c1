"""What we write loads in pycocotools and follows Ultralytics' dataset.yaml keys and row formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_api
from pycocotools.coco import COCO
from tests.support.dataset_builders import box, read_dm, write_coco, write_dm_item

from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets._masks import (
    coco_counts_from_rows,
    coco_string_from_counts,
    counts_from_coco_string,
    rows_from_coco_counts,
)

# pycocotools' compiled decoder trips a numpy 2 DeprecationWarning (third party, harmless here)
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

ROW = r'(0|[1-9]\d*)( (0|1)\.\d{6})'


def _keypoint_coco() -> dict:
    return {
        'images': [{'id': 1, 'file_name': 'p.png', 'width': 100, 'height': 50}],
        'annotations': [
            {
                'id': 1,
                'image_id': 1,
                'category_id': 1,
                'bbox': [10, 10, 40, 30],
                'area': 1200,
                'iscrowd': 0,
                'segmentation': [[10, 10, 50, 10, 50, 40]],
                'keypoints': [20, 20, 2, 30, 25, 1, 0, 0, 0],
                'num_keypoints': 2,
            },
        ],
        'categories': [
            {
                'id': 1,
                'name': 'person',
                'supercategory': 'person',
                'keypoints': ['nose', 'left_eye', 'right_eye'],
                'skeleton': [[1, 2], [1, 3]],
            }
        ],
    }


def test_our_coco_loads_in_pycocotools(tmp_path: Path):
    mask = {'encoding': 'raw_indices', 'size': [4, 5], 'indices': [0, 1, 6, 7, 19]}
    entry = {
        'bounding_box': [box('b1', 'car', [10, 20, 50, 40], [{'name': 'color', 'value': 'red'}])],
        'polygon': [{'id': 'p1', 'classification': 'person', 'attrs': [], 'data': [[1, 2], [5, 2], [5, 9]]}],
        'segmentation': [{'id': 's1', 'classification': 'car', 'attrs': [], 'data': mask}],
    }
    write_dm_item(tmp_path / 'dm', 'img', entry, size=(200, 100))
    report = get_converter('dm_v2', 'coco').convert(tmp_path / 'dm', tmp_path / 'coco')
    assert report.annotations_written == 3
    coco = COCO(str(tmp_path / 'coco' / 'annotations.json'))
    assert coco.getImgIds() == [1]
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == ['car', 'person']
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [(a['category_id'], a['bbox']) for a in anns] == [
        (1, [10, 20, 50, 40]),
        (2, [1, 2, 4, 7]),
        (1, [0, 0, 5, 4]),
    ]
    assert anns[0]['attributes'] == {'color': 'red'}
    polygon_mask = coco.annToMask(anns[1])
    assert polygon_mask.shape == (100, 200)
    rle_mask = mask_api.decode(mask_api.frPyObjects(anns[2]['segmentation'], 4, 5))
    assert np.flatnonzero(rle_mask).tolist() == [0, 1, 6, 7, 19]
    assert anns[2]['area'] == 5


def test_coco_keypoints_round_trip_through_dm_and_yolo_pose(tmp_path: Path):
    write_coco(tmp_path / 'coco', _keypoint_coco())
    get_converter('coco', 'dm_v2').convert(tmp_path / 'coco', tmp_path / 'dm')
    entry = read_dm(tmp_path / 'dm')['p']
    assert entry['group'] == [
        {'id': 'a1_g', 'classification': 'person', 'attrs': [], 'data': ['a1', 'a1_p0', 'a1_k0', 'a1_k1', 'a1_k2']}
    ]
    assert entry['keypoint'][1] == {
        'id': 'a1_k1',
        'classification': 'person',
        'data': [30, 25],
        'attrs': [{'name': 'keypoint', 'value': 'left_eye'}, {'name': 'visibility', 'value': 1}],
    }
    report = get_converter('coco', 'yolo', yolo_task='pose').convert(tmp_path / 'coco', tmp_path / 'pose')
    assert report.annotations_written == 1
    config = yaml.safe_load((tmp_path / 'pose' / 'dataset.yaml').read_text())
    assert config['kpt_shape'] == [3, 3]
    assert (tmp_path / 'pose' / 'labels' / 'p.txt').read_text() == (
        '0 0.300000 0.500000 0.400000 0.600000 0.200000 0.400000 2 0.300000 0.500000 1 0.000000 0.000000 0\n'
    )
    get_converter('dm_v2', 'coco').convert(tmp_path / 'dm', tmp_path / 'coco2')
    again = json.loads((tmp_path / 'coco2' / 'annotations.json').read_text())
    original = _keypoint_coco()
    assert again['annotations'][0] == {**original['annotations'][0], 'area': 600.0}  # area = polygon area
    assert again['categories'] == [
        {'id': 1, 'name': 'person', 'supercategory': '', 'keypoints': ['nose', 'left_eye', 'right_eye'], 'skeleton': []}
    ]
    COCO(str(tmp_path / 'coco2' / 'annotations.json'))


def test_coco_compressed_rle_reads_as_dm_mask(tmp_path: Path):
    mask = np.zeros((6, 7), dtype=np.uint8, order='F')
    mask[1:4, 2:5] = 1
    rle = mask_api.encode(mask)
    document = {
        'images': [{'id': 1, 'file_name': 'm.png', 'width': 7, 'height': 6}],
        'annotations': [
            {
                'id': 3,
                'image_id': 1,
                'category_id': 1,
                'bbox': [2, 1, 3, 3],
                'area': 9,
                'iscrowd': 1,
                'segmentation': {'counts': rle['counts'].decode(), 'size': [6, 7]},
            }
        ],
        'categories': [{'id': 1, 'name': 'blob', 'supercategory': ''}],
    }
    write_coco(tmp_path / 'coco', document)
    get_converter('coco', 'dm_v2').convert(tmp_path / 'coco', tmp_path / 'dm')
    data = read_dm(tmp_path / 'dm')['m']['segmentation'][0]['data']
    rows = [r for r in range(42) if mask.reshape(-1)[r]]
    assert data == {'encoding': 'dm_rle', 'size': [6, 7], 'counts': [9, 3, 4, 3, 4, 3, 16]}
    assert rows == [9, 10, 11, 16, 17, 18, 23, 24, 25]


def test_our_yolo_follows_ultralytics_layout(tmp_path: Path):
    for split, stem in (('train', 'a'), ('valid', 'b'), ('test', 'c')):
        write_dm_item(tmp_path / 'dm' / split, stem, {'bounding_box': [box('x', 'person', [10, 10, 20, 20])]})
    get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'y')
    config = yaml.safe_load((tmp_path / 'y' / 'dataset.yaml').read_text())
    assert config == {
        'path': '.',  # relative: the folder can be moved
        'train': 'train/images',
        'val': 'valid/images',
        'test': 'test/images',
        'nc': 1,
        'names': ['person'],
    }
    for split in ('train', 'valid', 'test'):
        images = config['train' if split == 'train' else 'val' if split == 'valid' else 'test']
        assert (tmp_path / 'y' / images).is_dir()
        labels = sorted((tmp_path / 'y' / split / 'labels').iterdir())
        assert len(labels) == 1
        assert re.fullmatch(rf'{ROW}{{4}}\n', labels[0].read_text())
    assert (tmp_path / 'y' / 'classes.txt').read_text() == 'person\n'


def test_segment_rows_have_odd_token_counts(tmp_path: Path):
    entry = {
        'bounding_box': [box('b', 'car', [0, 0, 10, 10])],
        'polygon': [{'id': 'p', 'classification': 'car', 'attrs': [], 'data': [[0, 0], [5, 0], [5, 5], [0, 5]]}],
    }
    write_dm_item(tmp_path / 'dm', 'img', entry, size=(20, 20))
    get_converter('dm_v2', 'yolo', yolo_task='segment').convert(tmp_path / 'dm', tmp_path / 'y')
    rows = (tmp_path / 'y' / 'labels' / 'img.txt').read_text().splitlines()
    assert rows == [
        '0 0.000000 0.000000 0.500000 0.000000 0.500000 0.500000 0.000000 0.500000',
        '0 0.000000 0.000000 0.250000 0.000000 0.250000 0.250000 0.000000 0.250000',
    ]
    assert all(re.fullmatch(rf'{ROW}{{8}}', row) for row in rows)


@pytest.mark.parametrize('seed', range(5))
def test_rle_codecs_match_pycocotools(seed: int):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 30, size=2)
    mask = (rng.random((height, width)) > rng.random()).astype(np.uint8)
    rows = np.flatnonzero(mask).tolist()
    counts = coco_counts_from_rows(rows, int(height), int(width))
    reference = mask_api.encode(np.asfortranarray(mask))
    assert coco_string_from_counts(counts) == reference['counts'].decode()
    assert counts_from_coco_string(reference['counts'].decode()) == counts
    assert rows_from_coco_counts(counts, int(height), int(width)) == rows
