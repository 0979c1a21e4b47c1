"""``--verify``: read a written dataset back and compare it with its source; ``diff_datasets`` for any two.

Before comparing, the source side is cut down to what the target format can hold (:func:`holds_of`): tools it
has no place for, attributes it drops, boxes clipped to the image, classes outside ``class_names``. What is cut
is counted in ``lossy_by_format``; whatever still differs after that was changed by mistake.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import flat_name
from synapse_sdk.plugins.datasets.compare import COMPARED_TOOLS, Comparison, Tolerance, Verification, compare_entries
from synapse_sdk.plugins.datasets.formats import DatasetFormat, YoloTask
from synapse_sdk.plugins.datasets.options import ConvertOptions

if TYPE_CHECKING:
    from synapse_sdk.plugins.datasets.report import ConversionReport

__all__ = ['Holds', 'diff_datasets', 'holds_of', 'project', 'verify_conversion']

Entry = dict[str, list[dict[str, Any]]]
_CLASSED = ('bounding_box', 'polygon', 'polyline', 'segmentation')


@dataclass(frozen=True, slots=True)
class Holds:
    """What one target format keeps of a DM v2 item."""

    tools: frozenset[str]
    attrs: frozenset[str] | None = None  #: attribute names kept (None: every one)
    clips: bool = False  #: boxes are clipped to the image
    clamps: bool = False  #: polygon points and keypoints are clamped into the image (YOLO's [0, 1] values)
    boxes_as_polygons: bool = False  #: YOLO segment: a box without a shape becomes its rectangle
    empty_boxes: bool = True  #: boxes of zero width or height are written (COCO and YOLO skip them: ``empty_box``)


_ALL = frozenset(COMPARED_TOOLS)


def holds_of(fmt: DatasetFormat, yolo_task: YoloTask = YoloTask.DETECT) -> Holds:
    """What ``fmt`` (with ``yolo_task`` for YOLO) keeps."""
    if fmt.is_dm:
        return Holds(_ALL)
    if fmt is DatasetFormat.COCO:
        return Holds(frozenset({'bounding_box', 'polygon', 'keypoint', 'segmentation'}), clips=True, empty_boxes=False)
    if fmt is DatasetFormat.PASCAL:
        return Holds(frozenset({'bounding_box'}), frozenset({'pose', 'truncated', 'difficult'}), clips=True)
    if yolo_task is YoloTask.SEGMENT:
        return Holds(
            frozenset({'polygon'}), frozenset(), clips=True, clamps=True, boxes_as_polygons=True, empty_boxes=False
        )
    tools = frozenset({'bounding_box', 'keypoint'}) if yolo_task is YoloTask.POSE else frozenset({'bounding_box'})
    return Holds(tools, frozenset(), clips=True, clamps=True, empty_boxes=False)


def _empty(data: list[float]) -> bool:
    """Whether a box has no width or no height."""
    return not (data[2] > 0 and data[3] > 0)


def _clip(data: list[float], size: tuple[int, int] | None) -> list[float] | None:
    if size is None:
        return [float(v) for v in data]
    x, y, w, h = (float(v) for v in data)
    x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, float(size[0])), min(y + h, float(size[1]))
    if (x0, y0, x1, y1) == (x, y, x + w, y + h):
        return [x, y, w, h]
    if x1 <= x0 or y1 <= y0:
        return None
    return [x0, y0, x1 - x0, y1 - y0]


def _clamp(points: list[list[float]], size: tuple[int, int] | None) -> list[list[float]]:
    if size is None:
        return points
    return [[min(max(float(p[0]), 0.0), size[0]), min(max(float(p[1]), 0.0), size[1])] for p in points]


def _tied_shapes(entry: Entry) -> dict[str, list[str]]:
    """Box id → ids of the polygons its groups hold."""
    boxes = {str(b.get('id')) for b in entry.get('bounding_box', ())}
    polygons = {str(p.get('id')) for p in entry.get('polygon', ())}
    tied: dict[str, list[str]] = {}
    for group in entry.get('group', ()):
        members = [str(m) for m in group.get('data') or ()]
        box = next((m for m in members if m in boxes), None)
        if box is not None:
            tied.setdefault(box, []).extend(m for m in members if m in polygons)
    return tied


def _as_polygons(entry: Entry, size: tuple[int, int] | None, lossy: Counter[str]) -> Entry:
    """YOLO segment's view: a box with polygons tied is those polygons, any other box its clipped rectangle."""
    tied = _tied_shapes(entry)
    rectangles = []
    for box in entry.get('bounding_box', ()):
        if tied.get(str(box.get('id'))):
            continue
        if _empty(box['data']):
            lossy['empty_box'] += 1
            continue
        clipped = _clip(box['data'], size)
        if clipped is None:
            lossy['out_of_image'] += 1
            continue
        x, y, w, h = clipped
        rectangles.append({**box, 'data': [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]})
    source = {tool: anns for tool, anns in entry.items() if tool != 'bounding_box'}
    source['polygon'] = [*entry.get('polygon', ()), *rectangles]
    return source


def project(
    entry: Entry, size: tuple[int, int] | None, holds: Holds, class_names: list[str] | None, lossy: Counter[str]
) -> Entry:
    """The part of ``entry`` the target can hold; what is cut is counted in ``lossy``."""
    allowed = set(class_names) if class_names is not None else None
    source = _as_polygons(entry, size, lossy) if holds.boxes_as_polygons else dict(entry)
    kept: Entry = {}
    gone: dict[str, str] = {}  # id tied to a box the writer dropped (with the whole object) -> why
    for tool in sorted(source, key=lambda t: t != 'bounding_box'):
        anns = source[tool]
        if tool not in COMPARED_TOOLS or not anns:
            continue
        if tool not in holds.tools:
            lossy[tool] += len(anns)
            continue
        out = []
        for ann in anns:
            if allowed is not None and tool in _CLASSED and ann.get('classification') not in allowed:
                lossy['unknown_class'] += 1
                continue
            why = gone.get(str(ann.get('id')))
            if why is not None:
                lossy[why] += 1
                continue
            projected = _project_one(tool, ann, size, holds, lossy)
            if projected is not None:
                out.append(projected)
            elif tool == 'bounding_box':
                why = 'empty_box' if not holds.empty_boxes and _empty(ann['data']) else 'out_of_image'
                gone.update(dict.fromkeys(_members_with(entry, str(ann.get('id'))), why))
        kept[tool] = out
    if 'group' in entry:
        kept['group'] = entry['group']
    return kept


def _members_with(entry: Entry, member: str) -> set[str]:
    """Ids of everything that shares a group with ``member``."""
    found: set[str] = set()
    for group in entry.get('group', ()):
        members = [str(m) for m in group.get('data') or ()]
        if member in members:
            found.update(members)
    return found


def _project_one(
    tool: str, ann: dict[str, Any], size: tuple[int, int] | None, holds: Holds, lossy: Counter[str]
) -> dict[str, Any] | None:
    ann = dict(ann)
    if not holds.empty_boxes and tool == 'bounding_box' and _empty(ann['data']):
        lossy['empty_box'] += 1
        return None
    if holds.clips and tool == 'bounding_box':
        data = _clip(ann['data'], size)
        if data is None:
            lossy['out_of_image'] += 1
            return None
        ann['data'] = data
    elif holds.clamps and tool == 'polygon':
        ann['data'] = _clamp(ann['data'], size)
    elif holds.clamps and tool == 'keypoint':
        ann['data'] = _clamp([ann['data']], size)[0]
    if holds.attrs is not None and tool != 'keypoint' and ann.get('attrs'):
        attrs = [a for a in ann['attrs'] if a.get('name') in holds.attrs]
        lossy['attrs'] += len(ann['attrs']) - len(attrs)
        ann['attrs'] = attrs
    return ann


def _key(item: HubItem) -> tuple[str, str]:
    return item.split or '', flat_name(item.stem)


def _read(fmt: DatasetFormat, path: Path, options: ConvertOptions) -> Iterator[HubItem]:
    from synapse_sdk.plugins.datasets.converter import open_reader
    from synapse_sdk.plugins.datasets.report import ReportBuilder

    yield from open_reader(fmt, path, ReportBuilder(fmt), options)


def _compare(
    left: Iterator[tuple[tuple[str, str], str, Entry]],
    right: Iterator[HubItem],
    comparison: Comparison,
    *,
    skipped: set[str] = frozenset(),  # type: ignore[assignment]
    compare_attrs: bool = True,
) -> Verification:
    """Pair items by split and stem (by stem alone when the layout changed) and compare each pair."""
    index: dict[tuple[str, str], tuple[str, Entry]] = {}
    by_stem: dict[str, list[tuple[str, str]]] = {}
    for key, name, entry in left:
        index[key] = (name, entry)
        by_stem.setdefault(key[1], []).append(key)
    for item in right:
        key = _key(item)
        if key not in index:
            keys = [k for k in by_stem.get(key[1], ()) if k in index]
            key = keys[0] if len(keys) == 1 else key
        found = index.pop(key, None)
        if found is None:
            comparison.item_extra(item.name, item.entry)
            continue
        comparison.result.items_compared += 1
        compare_entries(comparison, found[0], found[1], item.entry, compare_attrs=compare_attrs)
    for name, entry in index.values():
        if name not in skipped:  # a skipped item is in the report already (``items_skipped``)
            comparison.item_missing(name, entry)
    return comparison.build()


def verify_conversion(
    source: DatasetFormat,
    src: str | os.PathLike[str],
    target: DatasetFormat,
    dst: str | os.PathLike[str],
    options: ConvertOptions,
    report: ConversionReport,
) -> Verification:
    """Compare the written ``dst`` (read back with ``target``'s reader) with the source ``src``."""
    holds = holds_of(target, options.yolo_task)
    comparison = Comparison(Tolerance(iou=options.verify_iou, max_drift_px=options.verify_max_drift_px))
    skipped = {s.item for s in report.items_skipped}
    comparison.lossy['items_skipped'] = len(skipped)

    def left() -> Iterator[tuple[tuple[str, str], str, Entry]]:
        for item in _read(source, Path(src), options):
            size = item.size() if holds.clips else None
            yield _key(item), item.name, project(item.entry, size, holds, options.class_names, comparison.lossy)

    read_back = ConvertOptions(kpt_shape=options.kpt_shape)
    _compare(left(), _read(target, Path(dst), read_back), comparison, skipped=skipped)
    comparison.explain(report.lossy)
    return comparison.build()


def diff_datasets(
    a: str | os.PathLike[str],
    format_a: str | DatasetFormat,
    b: str | os.PathLike[str],
    format_b: str | DatasetFormat,
    tolerance: Tolerance | None = None,
) -> Verification:
    """Compare two datasets object by object (``a`` is the reference); nothing is set aside as lossy."""
    from synapse_sdk.plugins.datasets.converter import parse_format

    fa, fb = parse_format(format_a, 'format of A'), parse_format(format_b, 'format of B')
    comparison = Comparison(tolerance or Tolerance())
    left = ((_key(item), item.name, item.entry) for item in _read(fa, Path(a), ConvertOptions()))
    return _compare(left, _read(fb, Path(b), ConvertOptions()), comparison)
