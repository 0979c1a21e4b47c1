"""Object-by-object comparison of two DM v2 datasets: what ``--verify`` and ``synapse dataset diff`` report.

Objects are paired per item, tool and class (the closest pairs first). A pair is *matched* when it lies within the
:class:`Tolerance`; otherwise it is *drifted*. Objects without a partner are *missing* (source side) or *extra*
(other side); an extra box tied by a ``group`` to a paired shape or keypoint is *derived* (COCO and YOLO make a box
for every shape), not an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    'COMPARED_TOOLS',
    'Comparison',
    'DriftedObject',
    'Tolerance',
    'Verification',
    'attrs_of',
    'compare_entries',
]

#: tools compared object by object (relations and groups only tie objects together)
COMPARED_TOOLS = ('bounding_box', 'polygon', 'polyline', 'keypoint', 'segmentation')
#: attribute values a reader may add on its own (VOC ``truncated: 0``): an extra attribute with one is no change
_DEFAULT_VALUES: tuple[Any, ...] = (None, False, 0, '', 'Unspecified')
_MAX_WORST = 20
_MAX_NAMES = 50
_MAX_ROTATED_POINTS = 256  #: longer polygons are compared from the same first vertex only (either direction)
_GREEDY_LIMIT = 250_000  #: beyond this many candidate pairs per class, objects are paired in coordinate order


class Tolerance(BaseModel):
    """How close a pair must be: boxes by IoU and corner drift, shapes and keypoints by point drift, in pixels."""

    iou: float = Field(default=0.999, ge=0, le=1)  #: least IoU of two boxes (boxes of zero area: drift only)
    max_drift_px: float = Field(default=0.01, ge=0)  #: largest move of any corner or point, in pixels


class DriftedObject(BaseModel):
    """One pair beyond the tolerance, with its numbers."""

    item: str
    tool: str
    classification: str | None = None
    source: list[float] | None = None  #: the box ``[x, y, w, h]`` or the point, as read from the first dataset
    other: list[float] | None = None  #: the same from the second dataset
    iou: float | None = None  #: boxes only
    drift_px: float = 0.0  #: largest corner / point move (0 when only attributes changed)
    points: tuple[int, int] | None = None  #: polygon point counts (source, other)
    area: tuple[float, float] | None = None  #: polygon / mask areas (source, other)
    attrs: list[str] = Field(default_factory=list)  #: names of attributes that changed


class Verification(BaseModel):
    """The ``verification`` section of a report (also what ``synapse dataset diff`` prints).

    ``lossy_by_format`` holds what the target cannot hold, set aside before comparing (a tool name, ``attrs``,
    ``out_of_image``, ``empty_box``, ``unknown_class``, ``items_skipped``); everything in ``drifted`` /
    ``missing`` / ``extra`` changed by mistake.
    """

    ok: bool = True  #: nothing drifted, missing or extra
    tolerance: Tolerance = Field(default_factory=Tolerance)
    items_compared: int = 0
    items_missing: list[str] = Field(default_factory=list)  #: source items not found in the output (first 50)
    items_extra: list[str] = Field(default_factory=list)  #: output items not in the source (first 50)
    items_missing_count: int = 0
    items_extra_count: int = 0
    matched: int = 0
    drifted: int = 0
    missing: int = 0
    extra: int = 0
    derived: int = 0  #: boxes the target made up for a shape or keypoints
    missing_by: dict[str, int] = Field(default_factory=dict)  #: ``tool:class`` → count
    extra_by: dict[str, int] = Field(default_factory=dict)
    objects: dict[str, tuple[int, int]] = Field(default_factory=dict)  #: ``tool:class`` → (source, other) counts
    worst: list[DriftedObject] = Field(default_factory=list)  #: the drifted pairs, worst first (at most 20)
    min_iou: float | None = None  #: over every paired box
    max_drift_px: float = 0.0  #: over every pair
    lossy_by_format: dict[str, int] = Field(default_factory=dict)

    def summary(self) -> str:
        """One line: the counts, and the worst drifted item."""
        text = f'{self.matched} matched, {self.drifted} drifted, {self.missing} missing, {self.extra} extra objects'
        if self.items_missing_count or self.items_extra_count:
            text += f'; {self.items_missing_count} items missing, {self.items_extra_count} extra'
        if self.worst:
            w = self.worst[0]
            text += f'; worst: {w.item} {w.tool} {w.classification!r} drift {w.drift_px:g} px'
            text += f', IoU {w.iou:.4f}' if w.iou is not None else ''
        return text


def attrs_of(annotation: dict[str, Any]) -> dict[str, Any]:
    """``{name: value}`` of an annotation's attrs."""
    return {a['name']: a.get('value') for a in annotation.get('attrs') or () if isinstance(a, dict) and 'name' in a}


def _box_iou(a: list[float], b: list[float]) -> float | None:
    """IoU of two ``[x, y, w, h]``; None when either has no area."""
    if a[2] <= 0 or a[3] <= 0 or b[2] <= 0 or b[3] <= 0:
        return None
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _corner_drift(a: list[float], b: list[float]) -> float:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[0] + a[2] - b[0] - b[2]), abs(a[1] + a[3] - b[1] - b[3]))


def _area(points: list[list[float]]) -> float:
    """Shoelace area of a polygon."""
    n = len(points)
    return abs(sum(points[i][0] * points[i - 1][1] - points[i - 1][0] * points[i][1] for i in range(n))) / 2


def _point_drift(a: list[list[float]], b: list[list[float]]) -> float:
    """Largest vertex move over the best rotation and direction (a writer may start at another vertex)."""
    if len(a) != len(b) or not a:
        return float('inf')
    best = float('inf')
    shifts = range(len(b)) if len(b) <= _MAX_ROTATED_POINTS else range(1)
    for seq in (b, b[::-1]):
        for shift in shifts:
            worst = 0.0
            for k, p in enumerate(a):
                q = seq[(k + shift) % len(seq)]
                worst = max(worst, abs(p[0] - q[0]), abs(p[1] - q[1]))
                if worst >= best:
                    break
            best = min(best, worst)
            if best == 0:
                return 0.0
    return best


def _mask_area(data: dict[str, Any]) -> float:
    if data.get('encoding') == 'raw_indices':
        return float(len(data.get('indices') or ()))
    return float(sum((data.get('counts') or [])[1::2]))


def _centre(tool: str, data: Any) -> tuple[float, float]:
    if tool == 'bounding_box':
        return data[0] + data[2] / 2, data[1] + data[3] / 2
    if tool == 'keypoint':
        return float(data[0]), float(data[1])
    if tool in ('polygon', 'polyline'):
        return sum(p[0] for p in data) / len(data), sum(p[1] for p in data) / len(data)
    return 0.0, 0.0


@dataclass(slots=True)
class _Pair:
    """The numbers of one candidate pair; :meth:`report` makes the :class:`DriftedObject` only when needed."""

    tool: str
    a: dict[str, Any]
    b: dict[str, Any]
    cost: float
    within: bool
    drift_px: float
    iou: float | None = None
    points: tuple[int, int] | None = None
    area: tuple[float, float] | None = None
    attrs: list[str] = field(default_factory=list)

    def report(self, item: str) -> DriftedObject:
        boxlike = self.tool in ('bounding_box', 'keypoint')
        return DriftedObject(
            item=item,
            tool=self.tool,
            classification=self.a.get('classification'),
            source=[float(v) for v in self.a['data']] if boxlike else None,
            other=[float(v) for v in self.b['data']] if boxlike else None,
            iou=self.iou,
            drift_px=self.drift_px,
            points=self.points,
            area=self.area,
            attrs=self.attrs,
        )


def _measure(tool: str, a: dict[str, Any], b: dict[str, Any], tol: Tolerance, compare_attrs: bool) -> _Pair:
    """How far apart two annotations of one tool and class are."""
    slack = tol.max_drift_px + 1e-9
    if tool == 'bounding_box':
        sa, sb = a['data'], b['data']
        iou = _box_iou(sa, sb)
        drift = _corner_drift(sa, sb)
        pair = _Pair(tool, a, b, drift, drift <= slack and (iou is None or iou >= tol.iou - 1e-12), drift, iou)
    elif tool == 'keypoint':
        drift = max(abs(a['data'][0] - b['data'][0]), abs(a['data'][1] - b['data'][1]))
        pair = _Pair(tool, a, b, drift, drift <= slack, drift)
    elif tool in ('polygon', 'polyline'):
        pa, pb = a['data'], b['data']
        area = (_area(pa), _area(pb))
        drift = _point_drift(pa, pb)
        shown = drift if drift != float('inf') else max(abs(area[0] - area[1]), 1.0)
        ca, cb = _centre(tool, pa), _centre(tool, pb)
        cost = drift if drift != float('inf') else 1e6 + abs(ca[0] - cb[0]) + abs(ca[1] - cb[1])
        pair = _Pair(tool, a, b, cost, drift <= slack, shown, points=(len(pa), len(pb)), area=area)
    else:
        area = (_mask_area(a.get('data') or {}), _mask_area(b.get('data') or {}))
        pair = _Pair(tool, a, b, abs(area[0] - area[1]), area[0] == area[1], abs(area[0] - area[1]), area=area)
    if compare_attrs and (a.get('attrs') or b.get('attrs')):
        pair.attrs = _changed_attrs(attrs_of(a), attrs_of(b))
        pair.within = pair.within and not pair.attrs
    return pair


def _changed_attrs(source: dict[str, Any], other: dict[str, Any]) -> list[str]:
    changed = [name for name, value in source.items() if name not in other or other[name] != value]
    changed += [n for n, v in other.items() if n not in source and not any(v == d for d in _DEFAULT_VALUES)]
    return sorted(changed)


def _pairs(
    tool: str, left: list[dict[str, Any]], right: list[dict[str, Any]], tol: Tolerance, attrs: bool
) -> tuple[list[tuple[int, int, _Pair]], list[int], list[int]]:
    """Pair ``left`` with ``right``, closest first; returns the pairs and the unpaired indices of each side."""
    if len(left) == len(right):  # writers keep the order: pair in order when every such pair is within
        in_order = [(i, i, _measure(tool, a, b, tol, attrs)) for i, (a, b) in enumerate(zip(left, right, strict=True))]
        if all(pair.within for _i, _j, pair in in_order):
            return in_order, [], []
    if len(left) * len(right) > _GREEDY_LIMIT:
        order_l = sorted(range(len(left)), key=lambda i: _centre(tool, left[i]['data']))
        order_r = sorted(range(len(right)), key=lambda j: _centre(tool, right[j]['data']))
        done = [(i, j, _measure(tool, left[i], right[j], tol, attrs)) for i, j in zip(order_l, order_r, strict=False)]
        return done, order_l[len(done) :], order_r[len(done) :]
    candidates = [(i, j, _measure(tool, a, b, tol, attrs)) for i, a in enumerate(left) for j, b in enumerate(right)]
    candidates.sort(key=lambda c: (not c[2].within, c[2].cost, len(c[2].attrs)))
    used_l: set[int] = set()
    used_r: set[int] = set()
    done = []
    for i, j, pair in candidates:
        if i not in used_l and j not in used_r:
            used_l.add(i)
            used_r.add(j)
            done.append((i, j, pair))
    return done, [i for i in range(len(left)) if i not in used_l], [j for j in range(len(right)) if j not in used_r]


@dataclass
class Comparison:
    """Accumulates item comparisons into a :class:`Verification`."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    result: Verification = field(default_factory=Verification)
    objects: dict[str, list[int]] = field(default_factory=dict)
    missing_by: Counter[str] = field(default_factory=Counter)
    extra_by: Counter[str] = field(default_factory=Counter)
    lossy: Counter[str] = field(default_factory=Counter)
    drifted: list[DriftedObject] = field(default_factory=list)

    def item_missing(self, name: str, entry: dict[str, list[dict[str, Any]]]) -> None:
        """A source item with no counterpart: its objects count as missing."""
        self.result.items_missing_count += 1
        if len(self.result.items_missing) < _MAX_NAMES:
            self.result.items_missing.append(name)
        compare_entries(self, name, entry, {})

    def item_extra(self, name: str, entry: dict[str, list[dict[str, Any]]]) -> None:
        """An output item with no counterpart in the source."""
        self.result.items_extra_count += 1
        if len(self.result.items_extra) < _MAX_NAMES:
            self.result.items_extra.append(name)
        compare_entries(self, name, {}, entry)

    def explain(self, losses: dict[str, int]) -> None:
        """Move missing objects the writer reported as lossy (``keypoints``, ``segmentation``, ...) to lossy."""
        for key, count in losses.items():
            tool = 'keypoint' if key == 'keypoints' else key
            if tool not in COMPARED_TOOLS:
                continue
            for slot in [k for k in self.missing_by if k.split(':', 1)[0] == tool]:
                moved = min(self.missing_by[slot], count)
                self.missing_by[slot] -= moved
                self.lossy[key] += moved
                count -= moved
                if not self.missing_by[slot]:
                    del self.missing_by[slot]

    def build(self) -> Verification:
        """The finished section."""
        r = self.result
        r.tolerance = self.tolerance
        r.missing, r.extra = sum(self.missing_by.values()), sum(self.extra_by.values())
        r.missing_by, r.extra_by = dict(sorted(self.missing_by.items())), dict(sorted(self.extra_by.items()))
        r.objects = {k: (v[0], v[1]) for k, v in sorted(self.objects.items())}
        r.drifted = len(self.drifted)
        r.worst = sorted(self.drifted, key=lambda d: (-d.drift_px, d.iou if d.iou is not None else 1.0))[:_MAX_WORST]
        r.lossy_by_format = {k: v for k, v in sorted(self.lossy.items()) if v}
        r.ok = not (r.drifted or r.missing or r.extra or r.items_missing_count or r.items_extra_count)
        return r


def _by_class(anns: Iterable[dict[str, Any]], tool: str) -> dict[str | None, list[dict[str, Any]]]:
    """Annotations per class (keypoints all together: formats name them after their box, or not at all)."""
    found: dict[str | None, list[dict[str, Any]]] = {}
    for a in anns:
        if isinstance(a, dict) and a.get('data') is not None:
            found.setdefault(None if tool == 'keypoint' else a.get('classification'), []).append(a)
    return found


def compare_entries(
    comparison: Comparison,
    item: str,
    source: dict[str, list[dict[str, Any]]],
    other: dict[str, list[dict[str, Any]]],
    *,
    compare_attrs: bool = True,
) -> None:
    """Compare the DM v2 entries of one item and add the result to ``comparison``."""
    tol = comparison.tolerance
    result = comparison.result
    paired_ids: set[str] = set()
    unpaired_boxes: list[dict[str, Any]] = []
    for tool in COMPARED_TOOLS:
        left, right = _by_class(source.get(tool, ()), tool), _by_class(other.get(tool, ()), tool)
        for cls in sorted(set(left) | set(right), key=lambda c: c or ''):
            a, b = left.get(cls, []), right.get(cls, [])
            slot = f'{tool}:{cls}'
            counts = comparison.objects.setdefault(slot, [0, 0])
            counts[0] += len(a)
            counts[1] += len(b)
            pairs, only_a, only_b = _pairs(tool, a, b, tol, compare_attrs and tool != 'keypoint')
            for _i, j, pair in pairs:
                paired_ids.add(str(b[j].get('id')))
                result.max_drift_px = max(result.max_drift_px, pair.drift_px)
                if pair.iou is not None:
                    result.min_iou = pair.iou if result.min_iou is None else min(result.min_iou, pair.iou)
                if pair.within:
                    result.matched += 1
                else:
                    comparison.drifted.append(pair.report(item))
            if only_a:
                comparison.missing_by[slot] += len(only_a)
            if tool == 'bounding_box':
                unpaired_boxes += [b[j] for j in only_b]
            elif only_b:
                comparison.extra_by[slot] += len(only_b)
    members = {str(g.get('id')): [str(m) for m in g.get('data') or ()] for g in other.get('group', ())}
    for box in unpaired_boxes:
        box_id = str(box.get('id'))
        tied = any(box_id in group and any(m in paired_ids for m in group if m != box_id) for group in members.values())
        if tied:
            result.derived += 1
        else:
            comparison.extra_by[f'bounding_box:{box.get("classification")}'] += 1
