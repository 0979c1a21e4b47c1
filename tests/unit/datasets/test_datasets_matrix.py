"""Every pair of formats on one small categorized dataset: the output validates and the boxes survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, write_dm_item

from synapse_sdk.plugins.datasets import get_converter, validate_dataset

FORMATS = ['dm_v1', 'dm_v2', 'yolo', 'coco', 'pascal']
ITEMS = {
    'train/a': [box('b1', 'car', [10, 20, 50, 40]), box('b2', 'person', [100.5, 10, 40, 80.25])],
    'train/b': [box('b1', 'person', [0, 0, 200, 100])],
    'valid/c': [box('b1', 'car', [150, 60, 50, 40]), box('b2', 'car', [1, 2, 3, 4])],
    'test/d': [],
}


def boxes_of(dm_root: Path) -> dict[str, list[tuple[str, list[float]]]]:
    """``{"<split>/<stem>": sorted (class, box)}`` of a DM v2 dataset."""
    found = {}
    for path in sorted(dm_root.rglob('json/*.json')):
        entry = json.loads(path.read_text())['images'][0]
        found[f'{path.parent.parent.name}/{path.stem}'] = sorted(
            (b['classification'], b['data']) for b in entry.get('bounding_box', ())
        )
    return found


@pytest.fixture(scope='module')
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp('matrix')
    for name, boxes in ITEMS.items():
        split, stem = name.split('/')
        write_dm_item(root / 'dm' / split, stem, {'bounding_box': boxes} if boxes else {})
    made = {}
    for fmt in FORMATS:
        report = get_converter('dm_v2', fmt).convert(root / 'dm', root / f'source_{fmt}')
        assert (report.items_written, report.annotations_written, report.ok) == (4, 5, True)
        made[fmt] = root / f'source_{fmt}'
    return made


@pytest.mark.parametrize('target', FORMATS)
@pytest.mark.parametrize('source', FORMATS)
def test_every_pair_validates_and_keeps_boxes(sources: dict[str, Path], tmp_path: Path, source: str, target: str):
    report = get_converter(source, target, images='link').convert(sources[source], tmp_path / 'out')
    assert (report.items_seen, report.items_written) == (4, 4)
    assert (report.annotations_seen, report.annotations_written, report.annotations_skipped) == (5, 5, {})
    coco_ids = target == 'coco' or (source == 'coco' and target != 'yolo')  # YOLO output: YOLO ids
    assert report.classes == ({'1': 'car', '2': 'person'} if coco_ids else {'0': 'car', '1': 'person'})
    check = validate_dataset(tmp_path / 'out', target)
    assert (check.problems, check.items_seen, check.annotations_seen) == ([], 4, 5)
    get_converter(target, 'dm_v2', images='none').convert(tmp_path / 'out', tmp_path / 'back')
    expected = {name: sorted((b['classification'], b['data']) for b in boxes) for name, boxes in ITEMS.items()}
    assert boxes_of(tmp_path / 'back') == expected
