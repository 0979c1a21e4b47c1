"""Plain annotations of one COCO file as machine numbers (the fast index's store): boxes, and their polygons.

:class:`CompactBoxes` keeps a batch of parsed annotations when every one of them is plain in the sense of
:func:`~.coco_objects.plain_annotations` (a box, with or without polygons), as typed arrays of the narrowest
type that holds the values; pass 2 builds from them the DM objects :func:`~.coco_objects.plain_annotations`
builds, without reading the file again. Every check runs over a whole batch in C (``map``, ``set``, ``min``):
a Python loop per annotation would cost more than parsing it.
"""

from __future__ import annotations

from array import array
from itertools import accumulate, chain, compress, repeat
from operator import and_, itemgetter, ne, sub
from typing import Any

from synapse_sdk.plugins.datasets.readers.coco_objects import PLAIN_KEYS

__all__ = ['CompactBoxes']

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
_SEGMENTATION = repeat('segmentation')


class _Columns:
    """The columns of a batch shaped like plain annotations (the types of the values are checked later)."""

    __slots__ = ('category_ids', 'ids', 'image_ids', 'polygon_counts', 'polygon_lengths', 'polygon_values', 'values')

    def __init__(self, image_ids: list[Any], ids: list[Any], category_ids: list[Any], values: list[Any]) -> None:
        self.image_ids, self.ids, self.category_ids, self.values = image_ids, ids, category_ids, values
        self.polygon_counts: list[int] | None = None  #: per annotation (None: no annotation has a polygon)
        self.polygon_lengths: list[int] = []  #: values per polygon
        self.polygon_values: list[Any] = []  #: x, y, x, y ... of every polygon, one after the other


def _columns(elements: list[Any]) -> _Columns | None:
    """The columns of a batch shaped like plain annotations, else None.

    Shape only: dicts with the keys of plain annotations, bboxes of 4, and no segmentation (nothing falsy: ``[]``,
    ``{}``, ``null``) or lists of polygons of 6 values or more, an even count.
    """
    if not elements:
        return None
    try:  # a list or a number has no such keys, a number no len (TypeError); a dict may miss one (KeyError)
        rows = list(map(_FIELDS, elements))
        if not set().union(*elements) <= PLAIN_KEYS:  # the union of the dicts' keys, in C
            return None
        image_ids, ids, category_ids, bboxes = map(list, zip(*rows, strict=True))
        if set(map(len, bboxes)) != {4}:
            return None
        columns = _Columns(image_ids, ids, category_ids, list(chain.from_iterable(bboxes)))
        segmentations = list(map(dict.get, elements, _SEGMENTATION))
        if any(segmentations) and not _polygon_columns(segmentations, columns):
            return None
    except (KeyError, TypeError):
        return None
    return columns


def _polygon_columns(segmentations: list[Any], columns: _Columns) -> bool:
    """Fill the polygon columns; False when a segmentation is no list of plain polygons."""
    given = list(filter(None, segmentations))
    if set(map(type, given)) != {list}:
        return False
    polygons = list(chain.from_iterable(given))
    if set(map(type, polygons)) != {list}:
        return False
    lengths = list(map(len, polygons))
    if min(lengths) < 6 or 1 in set(map(and_, lengths, repeat(1))):  # 3 points at least, x and y each
        return False
    columns.polygon_counts = [len(s) if s else 0 for s in segmentations]
    columns.polygon_lengths = lengths
    columns.polygon_values = list(chain.from_iterable(polygons))
    return True


def _plain_types(columns: _Columns) -> bool:
    """Whether the ids are ints and the values numbers, type by type (bool is no number here)."""
    ids = chain(columns.image_ids, columns.ids, columns.category_ids)
    values = chain(columns.values, columns.polygon_values)
    return set(map(type, ids)) == {int} and _NUMBERS.issuperset(map(type, values))


class CompactBoxes:
    """Plain annotations of one file as machine numbers: 7 per box, and per polygon its length and values.

    :meth:`add` takes a batch of parsed annotations when every one of them is plain in the sense of
    :func:`~.coco_objects.plain_annotations` (its category aside: the caller checks :attr:`categories` once all
    files are read); :meth:`dm_objects` gives the DM objects that function gives for them. Runs (consecutive
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
        #: polygons per annotation (None while no annotation read had one), values per polygon, the values
        self.polygon_counts: array[int] | None = None
        self.polygon_lengths: array[int] = array('i')
        self.polygon_values: array[float] = array('d')
        self._polygon_firsts: tuple[array[int], array[int]] | None = None  # made at the first dm_objects

    def add(self, elements: list[Any], text: bytes | None = None) -> bool:
        """Keep a batch of annotations; False when one of them is not plain (then drop this object: the file
        goes the general way, and what this batch had appended is not taken back).

        ``text`` is the JSON the batch was parsed from: when it holds no ``u`` and no ``f`` (letters of ``true``
        and ``false`` that no key of a plain annotation has), it holds no bool, and the arrays check the types
        of the values as they take them (an int array refuses a float or a string, a float array a string), which
        costs nothing more; otherwise every value's type is checked first (an int array would take ``true`` for 1).
        """
        columns = _columns(elements)
        if columns is None:
            return False
        if (text is None or b'u' in text or b'f' in text) and not _plain_types(columns):
            return False
        values, first = columns.values, len(self.ids)
        try:
            array('q', columns.image_ids)  # ints within int64, or TypeError / OverflowError
            stored = (
                self._values(values),
                _appended(self.ids, columns.ids),
                _appended(self.category_ids, columns.category_ids),
            )
            if None in stored or min(values[2::4]) <= 0 or min(values[3::4]) <= 0:
                return False
            if not self._polygons(columns, first):
                return False
        except (TypeError, OverflowError):
            return False
        self.values, self.ids, self.category_ids = stored  # type: ignore[assignment]
        self.categories.update(columns.category_ids)
        self._runs(columns.image_ids, first)
        return True

    def _polygons(self, columns: _Columns, first: int) -> bool:
        """Keep the batch's polygons (annotation ``first`` on); False when a value would not survive a float64,
        TypeError on a value that is no number."""
        counts = columns.polygon_counts
        if counts is None and self.polygon_counts is None:
            return True  # box-only so far: nothing to keep
        if self.polygon_counts is None:
            self.polygon_counts = array('i', bytes(array('i').itemsize * first))  # none for the annotations before
        self.polygon_counts.fromlist(counts if counts is not None else [0] * len(columns.ids))
        if columns.polygon_values:
            self.polygon_values.fromlist(columns.polygon_values)
            self.polygon_lengths.fromlist(columns.polygon_lengths)
        return _exact(columns.polygon_values)

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

    def dm_objects(self, start: int, end: int, names: dict[int, str], entry: dict[str, list[dict[str, Any]]]) -> None:
        """Add the DM objects of annotations ``start:end`` to ``entry``: the boxes, then the polygons of those
        that have some and the groups tying them to their box (whole floats as ints, as plain annotations)."""
        self.dm_boxes(start, end, names, entry.setdefault('bounding_box', []))
        counts = self.polygon_counts
        if counts is None:
            return
        if self._polygon_firsts is None:  # where each annotation's polygons, and each polygon's values, begin
            self._polygon_firsts = (
                array('q', accumulate(counts, initial=0)),
                array('q', accumulate(self.polygon_lengths, initial=0)),
            )
        polygon_first, value_first = self._polygon_firsts
        first, last = polygon_first[start], polygon_first[end]
        if first == last:
            return
        values = [int(v) if v.is_integer() else v for v in self.polygon_values[value_first[first] : value_first[last]]]
        lengths = self.polygon_lengths
        shapes, groups = entry.setdefault('polygon', []), entry.setdefault('group', [])
        polygon, position = first, 0
        for annotation in compress(range(start, end), counts[start:end]):
            box_id, label = f'a{self.ids[annotation]}', names[self.category_ids[annotation]]
            members = [box_id]
            for k in range(counts[annotation]):
                length = lengths[polygon]
                corners = iter(values[position : position + length])  # zipped twice: x, y of one point per step
                members.append(f'{box_id}_p{k}')
                points = [[x, y] for x, y in zip(corners, corners, strict=True)]
                shapes.append({'id': members[-1], 'classification': label, 'attrs': [], 'data': points})
                polygon, position = polygon + 1, position + length
            groups.append({'id': f'{box_id}_g', 'classification': label, 'attrs': [], 'data': members})
