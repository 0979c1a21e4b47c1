"""One COCO annotation → DM v2 annotations (box, polygons, RLE mask, keypoints grouped with their box)."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import chain, compress, repeat
from operator import itemgetter, ne, sub
from typing import Any

from synapse_sdk.plugins.datasets._masks import counts_from_coco_string, dm_rle_from_rows, rows_from_coco_counts
from synapse_sdk.plugins.datasets.models.coco import COCOAnnotation, COCOCategory, COCORle

__all__ = ['CompactBoxes', 'coco_annotation_to_dm', 'plain_annotations']

_PLAIN_KEYS = frozenset({'id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd', 'segmentation'})
_NUMBERS = frozenset({int, float})
_EXACT = 2**53  # integers up to this size survive a float64 unchanged
_WIDER = {'h': 'i', 'i': 'q'}  # integer array type codes: int16 -> int32 -> int64


def _appended(numbers: array[Any], values: list[Any]) -> array[Any] | None:
    """``numbers`` with ``values`` appended, copied to a wider type code while they overflow; None past int64."""
    while True:
        try:
            numbers.fromlist(values)
            return numbers
        except OverflowError:
            code = _WIDER.get(numbers.typecode)
            if code is None:
                return None
            numbers = array(code, numbers)


def _exact(values: array[Any] | list[Any]) -> bool:
    """Whether every integer of ``values`` survives a float64 unchanged."""
    return not values or (max(values) <= _EXACT and min(values) >= -_EXACT)


_FIELDS = itemgetter('image_id', 'id', 'category_id', 'bbox')  # what a box needs (and may have: area, iscrowd, ...)


def _box_columns(elements: list[Any]) -> tuple[list[int], list[int], list[int], list[Any]] | None:
    """``(image ids, ids, category ids, bbox values)`` of a batch shaped like box-only annotations, else None.

    Shape only: dicts with the keys of box-only annotations, no segmentation, bboxes of 4 (the types of the
    values are checked by the caller). Every check runs over the whole batch in C (``map``, ``set``): a Python
    loop per annotation would cost more than parsing it.
    """
    if not elements:
        return None
    try:  # a list or a number has no such keys, a number no len (TypeError); a dict may miss one (KeyError)
        rows = list(map(_FIELDS, elements))
        if not set().union(*elements) <= _PLAIN_KEYS:  # the union of the dicts' keys, in C
            return None
        if any(map(dict.get, elements, repeat('segmentation'))):
            return None
        image_ids, ids, category_ids, bboxes = map(list, zip(*rows, strict=True))
        if set(map(len, bboxes)) != {4}:
            return None
    except (KeyError, TypeError):
        return None
    return image_ids, ids, category_ids, list(chain.from_iterable(bboxes))


def _plain_types(image_ids: list[Any], ids: list[Any], category_ids: list[Any], values: list[Any]) -> bool:
    """Whether the ids are ints and the values numbers, type by type (bool is no number here)."""
    return set(map(type, chain(image_ids, ids, category_ids))) == {int} and _NUMBERS.issuperset(map(type, values))


class CompactBoxes:
    """Box-only annotations of one file as machine numbers: 7 per box instead of a dict of lists.

    :meth:`add` takes a batch of parsed annotations when every one of them is a box-only annotation in the
    sense of :func:`plain_annotations` (its category aside: the caller checks :attr:`categories` once all files
    are read); :meth:`dm_boxes` gives the DM boxes :func:`plain_annotations` gives for them. Runs (consecutive
    annotations of one image) index the arrays.
    """

    def __init__(self) -> None:
        # each array takes the narrowest type code its values fit (most boxes: int16 coordinates)
        self.ids: array[int] = array('h')
        self.category_ids: array[int] = array('h')
        #: x, y, w, h of each box: integers while every value read was one, float64 from the first float on
        self.values: array[Any] = array('h')
        self.categories: set[int] = set()
        self.run_ids, self.starts, self.ends, self.counts = array('q'), array('q'), array('q'), array('q')

    def add(self, elements: list[Any], text: bytes | None = None) -> bool:
        """Keep a batch of annotations; False when one of them is not box-only (then drop this object: the file
        goes the general way, and what this batch had appended is not taken back).

        ``text`` is the JSON the batch was parsed from: when it holds no ``u`` and no ``f`` (letters of ``true``
        and ``false`` that no key of a box-only annotation has), it holds no bool, and the arrays check the types
        of the values as they take them (an int array refuses a float or a string, a float array a string), which
        costs nothing more; otherwise every value's type is checked first (an int array would take ``true`` for 1).
        """
        columns = _box_columns(elements)
        if columns is None:
            return False
        image_ids, ids, category_ids, values = columns
        if (text is None or b'u' in text or b'f' in text) and not _plain_types(*columns):
            return False
        first = len(self.ids)
        try:
            array('q', image_ids)  # ints within int64, or TypeError / OverflowError
            stored = self._values(values), _appended(self.ids, ids), _appended(self.category_ids, category_ids)
        except (TypeError, OverflowError):
            return False
        if None in stored or min(values[2::4]) <= 0 or min(values[3::4]) <= 0:
            return False
        self.values, self.ids, self.category_ids = stored  # type: ignore[assignment]
        self.categories.update(category_ids)
        self._runs(image_ids, first)
        return True

    def _values(self, values: list[Any]) -> array[Any] | None:
        """:attr:`values` with ``values`` appended: as integers while every value is one, else as float64 (None
        when an integer would not survive a float64); TypeError on a value that is no number."""
        if self.values.typecode != 'd':
            try:
                return _appended(self.values, values)
            except TypeError:  # a float (or no number: the float array below says which)
                if not _exact(self.values):
                    return None
                self.values = array('d', self.values)
        self.values.fromlist(values)
        return self.values if _exact(values) else None

    def _runs(self, image_ids: list[int], first: int) -> None:
        """Extend the runs by a batch whose first annotation is number ``first``."""
        # where the image changes inside the batch, and the runs it makes, found in C
        ends = list(compress(range(1, len(image_ids)), map(ne, image_ids, image_ids[1:])))
        starts = [0, *ends]
        ends.append(len(image_ids))
        if self.run_ids and self.run_ids[-1] == image_ids[0]:  # the last run goes on into this batch
            self.ends[-1] = first + ends[0]
            self.counts[-1] += ends[0]
            del starts[0], ends[0]
        self.run_ids.extend(map(image_ids.__getitem__, starts))
        self.starts.extend(map(first.__add__, starts))
        self.ends.extend(map(first.__add__, ends))
        self.counts.extend(map(sub, ends, starts))

    def dm_boxes(self, start: int, end: int, names: dict[int, str], out: list[dict[str, Any]]) -> None:
        """Append the DM boxes of annotations ``start:end`` to ``out`` (whole floats as ints, as plain annotations)."""
        values = self.values[4 * start : 4 * end].tolist()
        if self.values.typecode == 'd':  # whole floats as ints, as plain_annotations
            values = [int(v) if v.is_integer() else v for v in values]
        labels = map(names.__getitem__, self.category_ids[start:end])
        corners = iter(values)  # zipped 4 times: x, y, w, h of one box per step
        out += [
            {'id': f'a{annotation_id}', 'classification': label, 'attrs': [], 'data': [x, y, w, h]}
            for annotation_id, label, x, y, w, h in zip(
                self.ids[start:end], labels, corners, corners, corners, corners, strict=True
            )
        ]


def plain_annotations(
    elements: list[Any], names: dict[int, str], entry: dict[str, list[dict[str, Any]]], other: Callable[[Any], None]
) -> None:
    """Add the DM objects of each plain annotation to ``entry``; hand every other element to ``other``, in order.

    Plain: the keys of :data:`_PLAIN_KEYS` only, int ids, a bbox of 4 numbers with a positive width and height,
    a category in ``names`` (id → name), and no segmentation (a box) or polygons of 3 points or more (a box, its
    polygons and the group tying them). Everything else (and every problem to report) goes through the
    validated path (:func:`coco_annotation_to_dm`); both give the same DM objects, in the same order.
    """
    boxes = None  # entry['bounding_box'], made at the first box (the key order of the entry stays the same)
    for element in elements:
        if type(element) is dict and _PLAIN_KEYS.issuperset(element):
            bbox, annotation_id, category_id = element.get('bbox'), element.get('id'), element.get('category_id')
            segmentation = element.get('segmentation')
            polygons = _plain_polygons(segmentation) if segmentation else None
            # orjson never yields NaN or infinity; bool is not a number here
            if (
                (polygons is not None or not segmentation)
                and type(bbox) is list
                and len(bbox) == 4
                and type(annotation_id) is int
                and type(category_id) is int
                and _NUMBERS.issuperset(map(type, bbox))
                and bbox[2] > 0
                and bbox[3] > 0
            ):
                name = names.get(category_id)
                if name is not None:
                    data = bbox if float not in map(type, bbox) else [int(v) if v == int(v) else v for v in bbox]
                    if boxes is None:
                        boxes = entry.setdefault('bounding_box', [])
                    box_id = f'a{annotation_id}'
                    boxes.append({'id': box_id, 'classification': name, 'attrs': [], 'data': data})
                    if polygons is not None:
                        _add_polygons(entry, box_id, name, polygons)
                    continue
        other(element)


def _plain_polygons(segmentation: Any) -> list[list[list[int | float]]] | None:
    """The points of each polygon of a plain ``segmentation`` (lists of 6 or more numbers, an even count, whole
    floats as ints); None for anything else (an RLE mask, a bad polygon: the validated path says what)."""
    if type(segmentation) is not list:
        return None
    out = []
    for flat in segmentation:
        if type(flat) is not list or len(flat) < 6 or len(flat) % 2 or not _NUMBERS.issuperset(map(type, flat)):
            return None
        if float in map(type, flat):
            flat = [int(v) if v == int(v) else v for v in flat]
        corners = iter(flat)  # zipped twice: x, y of one point per step
        out.append([[x, y] for x, y in zip(corners, corners, strict=True)])
    return out


def _add_polygons(
    entry: dict[str, list[dict[str, Any]]], box_id: str, name: str, polygons: list[list[list[int | float]]]
) -> None:
    """The polygons of the box ``box_id`` and the group tying them to it, as :func:`coco_annotation_to_dm` makes."""
    shapes = entry.setdefault('polygon', [])
    members = [box_id]
    for k, points in enumerate(polygons):
        members.append(f'{box_id}_p{k}')
        shapes.append({'id': members[-1], 'classification': name, 'attrs': [], 'data': points})
    entry.setdefault('group', []).append({'id': f'{box_id}_g', 'classification': name, 'attrs': [], 'data': members})


def _whole(values: Any) -> list[float | int]:
    """Whole floats as ints (``10.0`` → ``10``); other values unchanged."""
    return [int(v) if float(v).is_integer() else v for v in values]


def _attrs(annotation: COCOAnnotation) -> list[dict[str, Any]]:
    return [{'name': key, 'value': value} for key, value in (annotation.attributes or {}).items()]


def _polygons(annotation: COCOAnnotation, name: str) -> list[dict[str, Any]]:
    out = []
    for k, flat in enumerate(annotation.segmentation or []):
        if len(flat) < 6 or len(flat) % 2:
            raise ValueError(f'segmentation[{k}] needs an even number (>= 6) of values')
        corners = iter(_whole(flat))  # zipped twice: x, y of one point per step
        points = [[x, y] for x, y in zip(corners, corners, strict=True)]
        out.append({'id': f'a{annotation.id}_p{k}', 'classification': name, 'attrs': [], 'data': points})
    return out


def _mask(annotation: COCOAnnotation, name: str) -> dict[str, Any]:
    rle = annotation.segmentation
    assert isinstance(rle, COCORle)
    height, width = rle.size
    counts = counts_from_coco_string(rle.counts) if isinstance(rle.counts, str) else rle.counts
    rows = rows_from_coco_counts(counts, height, width)
    return {
        'id': f'a{annotation.id}_m',
        'classification': name,
        'attrs': [],
        'data': dm_rle_from_rows(rows, height, width),
    }


def _keypoints(annotation: COCOAnnotation, category: COCOCategory, name: str) -> list[dict[str, Any]]:
    values = annotation.keypoints or []
    labels = category.keypoints or []
    out = []
    for j in range(len(values) // 3):
        x, y, visibility = values[3 * j : 3 * j + 3]
        attrs = [{'name': 'visibility', 'value': int(visibility)}]
        if j < len(labels):
            attrs.insert(0, {'name': 'keypoint', 'value': labels[j]})
        out.append({'id': f'a{annotation.id}_k{j}', 'classification': name, 'attrs': attrs, 'data': _whole([x, y])})
    return out


def coco_annotation_to_dm(annotation: COCOAnnotation, category: COCOCategory) -> dict[str, list[dict[str, Any]]]:
    """DM v2 annotations of one COCO annotation; raises ValueError on a malformed segmentation."""
    name = category.name
    out: dict[str, list[dict[str, Any]]] = {}
    box_id = None
    if annotation.bbox is not None and annotation.bbox[2] > 0 and annotation.bbox[3] > 0:
        box_id = f'a{annotation.id}'
        out['bounding_box'] = [
            {'id': box_id, 'classification': name, 'attrs': _attrs(annotation), 'data': _whole(annotation.bbox)}
        ]
    if isinstance(annotation.segmentation, COCORle):
        out['segmentation'] = [_mask(annotation, name)]
    elif annotation.segmentation:
        out['polygon'] = _polygons(annotation, name)
    if annotation.keypoints:
        out['keypoint'] = _keypoints(annotation, category, name)
    members = [a['id'] for tool in ('bounding_box', 'polygon', 'segmentation', 'keypoint') for a in out.get(tool, ())]
    if len(members) > 1 and (box_id or 'keypoint' in out):
        out['group'] = [{'id': f'a{annotation.id}_g', 'classification': name, 'attrs': [], 'data': members}]
    if box_id is None and annotation.attributes:
        first = next(iter(out.values()), None)
        if first:
            first[0]['attrs'] = _attrs(annotation)
    return out
