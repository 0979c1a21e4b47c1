"""YOLO label rows → DM v2 annotations (normalised values clamped to [0, 1], each clamp counted)."""

from __future__ import annotations

import math
from typing import Any

from synapse_sdk.plugins.datasets._classes import ClassMap
from synapse_sdk.plugins.datasets._hub import pixel
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

__all__ = ['parse_label']


class _Bad(Exception):
    def __init__(self, reason: SkipReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _numbers(tokens: list[str], report: ReportBuilder) -> list[float]:
    values: list[float] = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            raise _Bad(SkipReason.INVALID_VALUE, f"'{token}' is not a number") from None
        if not math.isfinite(value):
            raise _Bad(SkipReason.INVALID_VALUE, f"'{token}' is not a finite number")
        if value < 0.0 or value > 1.0:
            value = 0.0 if value < 0.0 else 1.0
            report.clamped += 1
        values.append(value)
    return values


def _box(values: list[float], width: int, height: int, report: ReportBuilder) -> list[float | int]:
    cx, cy, w, h = values
    if not (w > 0 and h > 0):
        raise _Bad(SkipReason.EMPTY_BOX, 'the box has no area (width or height 0)')
    x0, y0 = (cx - w / 2) * width, (cy - h / 2) * height
    x1, y1 = x0 + w * width, y0 + h * height
    clipped = (max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height)))
    report.clamped += sum(a != b for a, b in zip(clipped, (x0, y0, x1, y1), strict=True))
    x0, y0, x1, y1 = clipped
    if x1 <= x0 or y1 <= y0:
        raise _Bad(SkipReason.OUT_OF_IMAGE, 'the box has no area inside the image')
    return [pixel(x0), pixel(y0), pixel(x1 - x0), pixel(y1 - y0)]


def _plain_box(tokens: list[str], width: int, height: int) -> list[float | int] | None:
    """The fast path: a box row whose values are in [0, 1] and whose box lies inside the image; else None."""
    try:
        cx, cy, w, h = float(tokens[1]), float(tokens[2]), float(tokens[3]), float(tokens[4])
    except ValueError:
        return None
    x0, y0 = (cx - w / 2) * width, (cy - h / 2) * height
    bw, bh = w * width, h * height
    # NaN fails every comparison, so it falls through to the checked path
    if not (0.0 <= x0 and 0.0 <= y0 and 0.0 < bw and 0.0 < bh and w <= 1.0 and h <= 1.0):
        return None
    if not (x0 + bw <= width and y0 + bh <= height and cx <= 1.0 and cy <= 1.0):
        return None
    return [pixel(x0), pixel(y0), pixel(bw), pixel(bh)]


def _row_kind(count: int, kpt_shape: tuple[int, int] | None) -> str:
    if count < 5:
        raise _Bad(SkipReason.TOO_FEW_VALUES, f'{count} values; a row needs at least 5')
    if kpt_shape is not None:
        expected = 5 + kpt_shape[0] * kpt_shape[1]
        if count != expected:
            raise _Bad(SkipReason.BAD_TOKEN_COUNT, f'{count} values; kpt_shape {list(kpt_shape)} needs {expected}')
        return 'pose'
    if count == 5:
        return 'box'
    if count >= 7 and count % 2:
        return 'polygon'
    raise _Bad(SkipReason.BAD_TOKEN_COUNT, f'{count} values fit no row type (5 = box, odd >= 7 = polygon)')


def _row(
    tokens: list[str], line: int, size: tuple[int, int], ctx: tuple[ClassMap, tuple[int, int] | None, ReportBuilder]
) -> dict[str, list[dict[str, Any]]]:
    classes, kpt_shape, report = ctx
    width, height = size
    kind = _row_kind(len(tokens), kpt_shape)
    if not (tokens[0].isascii() and tokens[0].isdigit()):  # '²'.isdigit() is True, int('²') fails
        raise _Bad(SkipReason.CLASS_OUT_OF_RANGE, f"class id '{tokens[0]}' is not a non-negative integer")
    class_id = int(tokens[0])
    if classes.declared is not None and class_id >= classes.declared:
        raise _Bad(SkipReason.CLASS_OUT_OF_RANGE, f'class id {class_id} is not declared (nc {classes.declared})')
    name = classes.name_for(class_id)
    rid = f'r{line}'
    if kind == 'polygon':
        values = _numbers(tokens[1:], report)
        points = [[pixel(values[i] * width), pixel(values[i + 1] * height)] for i in range(0, len(values), 2)]
        return {'polygon': [{'id': rid, 'classification': name, 'attrs': [], 'data': points}]}
    if kind == 'box':
        box = _plain_box(tokens, width, height) or _box(_numbers(tokens[1:], report), width, height, report)
        return {'bounding_box': [{'id': rid, 'classification': name, 'attrs': [], 'data': box}]}
    assert kpt_shape is not None
    box = _box(_numbers(tokens[1:5], report), width, height, report)
    out: dict[str, list[dict[str, Any]]] = {
        'bounding_box': [{'id': rid, 'classification': name, 'attrs': [], 'data': box}],
    }
    keypoints = _keypoints(tokens, rid, name, size, ctx)
    if keypoints:
        out['keypoint'] = keypoints
        members = [rid, *(point['id'] for point in keypoints)]
        out['group'] = [{'id': f'{rid}_g', 'classification': name, 'attrs': [], 'data': members}]
    return out


def _keypoints(
    tokens: list[str], rid: str, name: str, size: tuple[int, int], ctx: tuple[ClassMap, Any, ReportBuilder]
) -> list[dict[str, Any]]:
    """The keypoints of a pose row; trailing missing ones (all values 0, the writers' ``0 0 0``) are left out.

    A missing keypoint before a present one stays (visibility 0), so that later keypoints keep their index.
    """
    _, (count, dims), report = ctx
    width, height = size
    parsed: list[tuple[float, float, int | None]] = []
    for j in range(count):
        chunk = tokens[5 + j * dims : 5 + (j + 1) * dims]
        px, py = _numbers(chunk[:2], report)
        visibility = None
        if dims == 3:
            if chunk[2] not in ('0', '1', '2', '0.0', '1.0', '2.0'):
                raise _Bad(SkipReason.INVALID_VALUE, f"keypoint visibility '{chunk[2]}' is not 0, 1 or 2")
            visibility = int(float(chunk[2]))
        parsed.append((px, py, visibility))
    while parsed and parsed[-1][0] == parsed[-1][1] == 0.0 and not parsed[-1][2]:
        parsed.pop()
    points: list[dict[str, Any]] = []
    for j, (px, py, visibility) in enumerate(parsed):
        attrs = [] if visibility is None else [{'name': 'visibility', 'value': visibility}]
        data = [pixel(px * width), pixel(py * height)]
        points.append({'id': f'{rid}_k{j}', 'classification': name, 'attrs': attrs, 'data': data})
    return points


def parse_label(
    text: str,
    size: tuple[int, int],
    classes: ClassMap,
    kpt_shape: tuple[int, int] | None,
    report: ReportBuilder,
    file: str,
) -> dict[str, list[dict[str, Any]]]:
    """Every row of a label file as a DM v2 image entry; bad rows are skipped with file and line in the report."""
    entry: dict[str, list[dict[str, Any]]] = {}
    ctx = (classes, kpt_shape, report)
    width, height = size
    declared, name_for = classes.declared, classes.name_for
    plain = kpt_shape is None  # box rows may take the fast path below
    boxes: list[dict[str, Any]] | None = None
    for line, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens:
            continue
        report.annotations_seen += 1
        if plain and len(tokens) == 5:
            # the fast path: a declared class and a box inside the image, as _row would give it; else _row reports
            head = tokens[0]
            if head.isascii() and head.isdigit() and (declared is None or int(head) < declared):
                box = _plain_box(tokens, width, height)
                if box is not None:
                    if boxes is None:
                        boxes = entry.setdefault('bounding_box', [])
                    boxes.append({'id': f'r{line}', 'classification': name_for(int(head)), 'attrs': [], 'data': box})
                    continue
        try:
            row = _row(tokens, line, size, ctx)
        except _Bad as bad:
            report.skip_annotation(bad.reason, file=file, line=line, message=str(bad))
            continue
        for tool, anns in row.items():
            entry.setdefault(tool, []).extend(anns)
    return entry
