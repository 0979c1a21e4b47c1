"""Hypothesis: random datasets convert between every pair of formats with ``verify=True`` clean; pinned edge cases."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.dataset_builders import box, write_coco, write_dm_item, write_png_header

from synapse_sdk.plugins.datasets import get_converter

FORMATS = ['dm_v1', 'dm_v2', 'yolo', 'coco', 'pascal']
TARGETS = [(t, 'detect') for t in FORMATS] + [('yolo', 'segment'), ('yolo', 'pose')]
NAMES = ['car', 'person', 'vélo 🚲', '車', 'a b', 'x-1']

Item = tuple[tuple[int, int], dict[str, list[dict[str, Any]]]]


@st.composite
def items(draw: st.DrawFn, index: int) -> Item:
    """One image (any size up to 1500 x 1500) with boxes in hundredths of a pixel (some past the edges, some of
    zero width or height), sometimes a polygon and two keypoints grouped with the first box, sometimes a loose
    polygon."""
    width, height = draw(st.integers(1, 1500)), draw(st.integers(1, 1500))
    boxes = []
    for k in range(draw(st.integers(0, 4))):
        x = draw(st.integers(0, width * 100 - 1))
        y = draw(st.integers(0, height * 100 - 1))
        w = draw(st.integers(1, width * 100 - x + draw(st.sampled_from([0, 0, 0, 500]))))
        h = draw(st.integers(1, height * 100 - y))
        if draw(st.integers(0, 9)) == 0:  # no area: COCO and YOLO skip it (empty_box), the others keep it
            w, h = draw(st.sampled_from([(0, h), (w, 0), (0, 0)]))
        attrs = [{'name': 'difficult', 'value': 1}] if draw(st.booleans()) else []
        boxes.append(box(f'b{k}', draw(st.sampled_from(NAMES)), [x / 100, y / 100, w / 100, h / 100], attrs))
    entry: dict[str, list[dict[str, Any]]] = {'bounding_box': boxes} if boxes else {}

    def point() -> list[float]:
        return [draw(st.integers(0, width * 100)) / 100, draw(st.integers(0, height * 100)) / 100]

    if boxes and draw(st.booleans()):
        name = boxes[0]['classification']
        entry['polygon'] = [{'id': 'q0', 'classification': name, 'attrs': [], 'data': [point() for _ in range(4)]}]
        entry['keypoint'] = [{'id': f'k{j}', 'classification': name, 'attrs': [], 'data': point()} for j in range(2)]
        entry['group'] = [{'id': 'g0', 'classification': name, 'attrs': [], 'data': ['b0', 'q0', 'k0', 'k1']}]
    if draw(st.booleans()):
        loose = {'id': 'q9', 'classification': draw(st.sampled_from(NAMES)), 'attrs': [], 'data': []}
        loose['data'] = [point() for _ in range(draw(st.integers(3, 6)))]
        entry.setdefault('polygon', []).append(loose)
    return (width, height), entry


@st.composite
def datasets(draw: st.DrawFn) -> list[Item]:
    return [draw(items(i)) for i in range(draw(st.integers(1, 3)))]


def _write(root: Path, dataset: list[Item]) -> None:
    for k, (size, entry) in enumerate(dataset):
        write_dm_item(root, f'img{k}', entry, size=(1, 1))
        write_png_header(root / 'original_files' / f'img{k}.png', *size)


def _assert_clean(report: Any, where: str) -> None:
    v = report.verification
    assert v is not None, where
    assert (v.ok, v.drifted, v.missing, v.extra) == (True, 0, 0, 0), (where, v.summary(), v.missing_by, v.extra_by)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_every_pair_of_formats_verifies_clean(dataset: list[Item]):
    work = Path(tempfile.mkdtemp(prefix='verify-prop-'))
    try:
        _write(work / 'dm', dataset)
        for target, task in TARGETS:
            out = work / f'{target}_{task}'
            report = get_converter('dm_v2', target, images='link', yolo_task=task, verify=True).convert(
                work / 'dm', out
            )
            _assert_clean(report, f'dm_v2 -> {target} ({task})')
            for second, task2 in TARGETS:
                converter = get_converter(target, second, images='link', yolo_task=task2, verify=True)
                report = converter.convert(
                    out,
                    work / 'second',
                )
                _assert_clean(report, f'{target} ({task}) -> {second} ({task2})')
                shutil.rmtree(work / 'second')
    finally:
        shutil.rmtree(work)


def _coco_with_gaps_and_a_hole(root: Path) -> Path:
    """Category ids 3, 7 and 42, a polygon with a hole (two parts), two image sizes."""
    outer = [10, 10, 90, 10, 90, 90, 10, 90]
    hole = [40, 40, 60, 40, 60, 60, 40, 60]
    document = {
        'images': [
            {'id': 1, 'file_name': 'wide.png', 'width': 320, 'height': 100},
            {'id': 2, 'file_name': 'tall.png', 'width': 100, 'height': 640},
        ],
        'annotations': [
            {
                'id': 1,
                'image_id': 1,
                'category_id': 3,
                'bbox': [10, 10, 80, 80],
                'area': 6000,
                'iscrowd': 0,
                'segmentation': [outer, hole],
            },
            {
                'id': 2,
                'image_id': 1,
                'category_id': 42,
                'bbox': [0, 0, 320, 100],
                'area': 32000,
                'iscrowd': 0,
                'segmentation': [],
            },
            {
                'id': 3,
                'image_id': 2,
                'category_id': 7,
                'bbox': [99, 639, 1, 1],
                'area': 1,
                'iscrowd': 0,
                'segmentation': [],
            },
        ],
        'categories': [{'id': 3, 'name': 'car'}, {'id': 7, 'name': 'ümlaut'}, {'id': 42, 'name': '道路'}],
    }
    return write_coco(root, document)


@pytest.mark.parametrize(('target', 'task'), TARGETS)
def test_class_ids_with_gaps_and_polygons_with_holes(tmp_path: Path, target: str, task: str):
    src = _coco_with_gaps_and_a_hole(tmp_path / 'coco')
    report = get_converter('coco', target, images='link', yolo_task=task, verify=True).convert(src, tmp_path / 'out')
    _assert_clean(report, f'coco -> {target}')
    assert report.verification is not None
    if target in ('coco', 'dm_v1', 'dm_v2') or task == 'segment':  # both parts of the holed polygon survive
        assert report.verification.objects['polygon:car'] == (2, 2)
    if target == 'coco':
        assert report.classes == {'3': 'car', '7': 'ümlaut', '42': '道路'}
    back = get_converter(target, 'coco', images='link', verify=True).convert(tmp_path / 'out', tmp_path / 'back')
    _assert_clean(report, f'{target} -> coco')
    assert back.verification is not None and back.verification.matched >= 3
