"""DM v2 annotations of one item → COCO annotation dicts (without ``id`` / ``image_id``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.datasets._masks import coco_counts_from_rows, rows_from_dm_mask
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

if TYPE_CHECKING:
    from synapse_sdk.plugins.datasets._hub import HubItem

__all__ = ['clip_box', 'empty_box', 'keypoint_triples', 'mask_annotation', 'polygon_annotation']


def empty_box(box: dict[str, Any], item: HubItem, report: ReportBuilder) -> bool:
    """Whether ``box`` has no width or no height; then it is reported as skipped (``empty_box``).

    COCO and YOLO writers leave such a box out: their readers, ours and the others', drop a box without area, so
    writing it would lose it silently on the way back.
    """
    w, h = box['data'][2], box['data'][3]
    if w > 0 and h > 0:
        return False
    message = f'box {box.get("id")} has no area (width {w}, height {h})'
    report.skip_annotation(SkipReason.EMPTY_BOX, file=item.source_file, message=message)
    return True


def clip_box(data: list[float], size: tuple[int, int], report: ReportBuilder) -> list[float] | None:
    """``[x, y, w, h]`` clipped to the image (each moved edge counted); None when nothing is left inside."""
    x, y, w, h = data
    width, height = size
    edges = (x, y, x + w, y + h)
    clipped = (max(x, 0), max(y, 0), min(x + w, width), min(y + h, height))
    if clipped == edges:
        return list(data)
    report.clamped += sum(a != b for a, b in zip(clipped, edges, strict=True))
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        return None
    return [clipped[0], clipped[1], clipped[2] - clipped[0], clipped[3] - clipped[1]]


def _attributes(annotation: dict[str, Any]) -> dict[str, Any]:
    return {
        a['name']: a.get('value')
        for a in annotation.get('attrs') or ()
        if a.get('name') not in ('visibility', 'keypoint')
    }


def polygon_annotation(polygon: dict[str, Any]) -> dict[str, Any]:
    """A polygon as ``segmentation [[x1, y1, ...]]`` with its bounds and shoelace area."""
    points = polygon['data']
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    area = abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(points)))) / 2
    flat = [c for p in points for c in p]
    bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    return {'bbox': bbox, 'area': area, 'iscrowd': 0, 'segmentation': [flat], 'attributes': _attributes(polygon)}


def mask_annotation(mask: dict[str, Any]) -> dict[str, Any]:
    """A DM mask as uncompressed COCO RLE (``iscrowd: 1``)."""
    rows, height, width = rows_from_dm_mask(mask['data'])
    counts = coco_counts_from_rows(rows, height, width)
    if rows:
        cols = [r % width for r in rows]
        top, bottom = rows[0] // width, rows[-1] // width
        bbox = [min(cols), top, max(cols) - min(cols) + 1, bottom - top + 1]
    else:
        bbox = [0, 0, 0, 0]
    segmentation = {'counts': counts, 'size': [height, width]}
    return {
        'bbox': bbox,
        'area': len(rows),
        'iscrowd': 1,
        'segmentation': segmentation,
        'attributes': _attributes(mask),
    }


def keypoint_triples(points: list[dict[str, Any]]) -> tuple[list[float], int, list[str]]:
    """Flat ``[x, y, v]`` K times, ``num_keypoints`` (v > 0) and the keypoint names (attr ``keypoint``)."""
    flat: list[float] = []
    names: list[str] = []
    for j, point in enumerate(points):
        attrs = {a.get('name'): a.get('value') for a in point.get('attrs') or ()}
        flat += [point['data'][0], point['data'][1], int(attrs.get('visibility', 2))]
        names.append(str(attrs.get('keypoint', f'kp_{j}')))
    return flat, sum(1 for v in flat[2::3] if v > 0), names
