"""Hypothesis: DM -> X -> DM keeps every box (1e-6 relative) for X in YOLO, COCO, Pascal VOC."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.dataset_builders import box, read_dm, write_dm_item, write_png_header

from synapse_sdk.plugins.datasets import get_converter

# YOLO stores 6 decimals of W and H: each pixel value read back lies within 7.5e-7 * side of the original, under
# half a hundredth for sides up to 6,666, so the 2-decimal rounding on read gives back any box in hundredths of a
# pixel: the round trip must return every box unchanged (within 1e-6 relative) whatever the image size.


@st.composite
def float_boxes(draw: st.DrawFn) -> tuple[tuple[int, int], list[list[float]]]:
    """Boxes in hundredths of a pixel inside any image size up to 4000 x 4000."""
    width, height = draw(st.integers(1, 4000)), draw(st.integers(1, 4000))
    boxes = []
    for _ in range(draw(st.integers(1, 5))):
        x = draw(st.integers(0, width * 100 - 1))
        y = draw(st.integers(0, height * 100 - 1))
        w = draw(st.integers(1, width * 100 - x))
        h = draw(st.integers(1, height * 100 - y))
        boxes.append([x / 100, y / 100, w / 100, h / 100])
    return (width, height), boxes


def _close(a: list[float], b: list[float]) -> bool:
    return all(math.isclose(p, q, rel_tol=1e-6, abs_tol=1e-9) for p, q in zip(a, b, strict=True))


def _round_trip(fmt: str, size: tuple[int, int], boxes: list[list[float]]) -> list[list[float]]:
    work = Path(tempfile.mkdtemp())
    try:
        names = ['car', 'person']
        entry = {'bounding_box': [box(f'b{i}', names[i % 2], b) for i, b in enumerate(boxes)]}
        write_dm_item(work / 'dm', 'img', entry, size=(1, 1))
        write_png_header(work / 'dm' / 'original_files' / 'img.png', *size)
        there = get_converter('dm_v2', fmt, images='link').convert(work / 'dm', work / fmt)
        back = get_converter(fmt, 'dm_v2', images='none').convert(work / fmt, work / 'back')
        assert there.annotations_written == len(boxes) == back.annotations_written
        result = read_dm(work / 'back')['img']['bounding_box']
        assert [b['classification'] for b in result] == [b['classification'] for b in entry['bounding_box']]
        return [b['data'] for b in result]
    finally:
        shutil.rmtree(work)


_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(float_boxes())
def test_dm_yolo_dm_keeps_boxes(case: tuple[tuple[int, int], list[list[float]]]):
    size, boxes = case
    result = _round_trip('yolo', size, boxes)
    assert all(_close(a, b) for a, b in zip(result, boxes, strict=True)), (result, boxes)


@_SETTINGS
@given(float_boxes())
def test_dm_coco_dm_keeps_boxes(case: tuple[tuple[int, int], list[list[float]]]):
    size, boxes = case
    result = _round_trip('coco', size, boxes)
    assert all(_close(a, b) for a, b in zip(result, boxes, strict=True)), (result, boxes)


@_SETTINGS
@given(float_boxes())
def test_dm_voc_dm_keeps_boxes(case: tuple[tuple[int, int], list[list[float]]]):
    size, boxes = case
    result = _round_trip('pascal', size, boxes)
    assert all(_close(a, b) for a, b in zip(result, boxes, strict=True)), (result, boxes)
