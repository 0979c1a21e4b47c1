"""Pass 1 over one COCO file (:class:`COCOIndex`): categories, images, and where each image's annotations are.

Three ways, tried in turn: the compact one (:class:`~.coco_compact.CompactBoxes`), for files whose every
annotation is plain (a box, with or without polygons), parses the file in batches of ~16 KiB and keeps each
annotation as a few machine numbers; pass 2 builds the DM objects from them. The general one in batches keeps
where each batch lies and each image's runs of annotations as ranges of annotation numbers (pass 2 parses the
batches again). The element-wise one keeps each run's byte offsets (pass 2 reads each run again); it says what
is wrong with broken JSON or a bad category, with its line, and is the reference the others are tested against
(``fast=False``). A category no file defines sends a compact file to the general index, which reports it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._jsonstream import (
    JsonStreamError,
    LineCounter,
    element_offsets,
    iter_top_level_arrays,
    iter_top_level_batches,
    iter_top_level_spans,
    line_of,
)
from synapse_sdk.plugins.datasets.models.coco import COCOCategory, COCOImage
from synapse_sdk.plugins.datasets.readers.base import first_error
from synapse_sdk.plugins.datasets.readers.coco_compact import CompactBoxes
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

__all__ = ['COCOIndex', 'ImageEntry']

_WANTED = frozenset({'images', 'annotations', 'categories'})


_IMAGE_FIELDS = itemgetter('id', 'file_name', 'width', 'height')


class _NotFast(Exception):
    """The fast path does not apply to this file: index it the general way."""


class ImageEntry(NamedTuple):
    """What the reader keeps of an ``images`` entry (valid as a :class:`COCOImage`)."""

    id: int
    file_name: str
    width: int
    height: int


def _validated_image(element: object) -> ImageEntry:
    """``element`` validated as a :class:`COCOImage` (raises pydantic's ValidationError)."""
    image = COCOImage.model_validate(element)
    return ImageEntry(image.id, image.file_name, image.width, image.height)


def _plain_images(elements: list[Any]) -> list[ImageEntry] | None:
    """The images of a batch whose every entry has int ids and sizes (> 0) and a str file_name, checked in C;
    None otherwise (then each entry is validated: pydantic also takes ``800.0`` for ``800``)."""
    try:
        rows = list(map(_IMAGE_FIELDS, elements))
    except (KeyError, TypeError):  # not a dict, or a field missing
        return None
    if not rows:
        return []
    ids, names, widths, heights = zip(*rows, strict=True)
    if set(map(type, chain(ids, widths, heights))) != {int} or set(map(type, names)) != {str}:
        return None
    if min(widths) <= 0 or min(heights) <= 0:
        return None
    return list(map(ImageEntry._make, rows))


class COCOIndex:
    """Pass 1 over one COCO file: categories, images, and the byte runs of each image's annotations.

    A run is a stretch of consecutive annotations of one image (a file sorted by ``image_id`` has one run
    per image), so memory is a few integers per image, not the annotations themselves. With ``boxes`` set
    (the fast path), a run's start and end index ``boxes`` instead of the file.
    """

    def __init__(
        self, path: Path, report: ReportBuilder, file: str, *, fast: bool = True, compact: bool = True
    ) -> None:
        """``fast``: parse in batches (else element by element: the reference the tests compare with);
        ``compact``: try the compact store first (plain annotations only)."""
        self.path = path
        self._lines = LineCounter(path)
        self._run_places: tuple[list[Any], list[int], int] | None = None  #: elements, offsets, where to look on
        self.boxes: CompactBoxes | None = None
        self._spans: _Spans | None = None  #: the batched general index: runs count elements, not bytes
        if fast:
            try:
                if compact:
                    self._index_fast()
                    return
            except (_NotFast, JsonStreamError):
                pass
            self.boxes = None
            try:
                self._index_spans(report, file)
                return
            except (JsonStreamError, _NotFast):  # broken JSON, or a bad category: said with the general message
                self._spans = None
        self._index(report, file)

    def _index_fast(self) -> None:
        """Pass 1 in batches; raises :class:`_NotFast` (nothing reported) at anything the general path must see."""
        self.categories: dict[int, COCOCategory] = {}
        self.images: list[ImageEntry] = []
        boxes = CompactBoxes()
        categories: list[COCOCategory] = []
        try:
            for key, elements, text in iter_top_level_batches(self.path, _WANTED):
                if key == 'annotations':
                    if not boxes.add(elements, text):
                        raise _NotFast
                elif key == 'images':
                    plain = _plain_images(elements)
                    self.images.extend(map(_validated_image, elements) if plain is None else plain)
                else:
                    categories.extend(map(COCOCategory.model_validate, elements))
        except PydanticValidationError:
            raise _NotFast from None
        self.categories = {category.id: category for category in categories}
        self.boxes = boxes
        self._starts, self._ends, self._counts = boxes.starts, boxes.ends, boxes.counts
        self._group(boxes.run_ids)

    def _index_spans(self, report: ReportBuilder, file: str) -> None:
        """The general index in batches: runs are ranges of annotation numbers, each batch's place is kept, and
        a run is parsed again from its batches (:meth:`runs_of`). Raises :class:`JsonStreamError` or
        :class:`_NotFast` (a bad category) for the element-wise index to say, having reported nothing; reports a
        bad image as that index would, once the file is read."""
        self.categories, self.images = {}, []
        spans = _Spans()
        bad_images: list[tuple[PydanticValidationError, int]] = []  # reported once the whole file is read
        try:
            for key, offset, length, elements in iter_top_level_spans(self.path, _WANTED):
                if key == 'annotations':
                    spans.add(offset, length, elements)
                elif key == 'images':
                    plain = _plain_images(elements)
                    if plain is not None:
                        self.images.extend(plain)
                        continue
                    places = None
                    for position, element in enumerate(elements):
                        try:
                            self.images.append(_validated_image(element))
                        except PydanticValidationError as exc:
                            places = places or element_offsets(self.path, offset, len(elements))
                            bad_images.append((exc, places[position]))
                else:
                    for category in map(COCOCategory.model_validate, elements):
                        self.categories[category.id] = category
        except PydanticValidationError:  # a category: the element-wise index raises it with its line
            raise _NotFast from None
        for error, place in bad_images:
            self._bad_image(error, report, file, place)
        self._spans = spans
        self._starts, self._ends, self._counts = spans.starts, spans.ends, spans.counts
        self._group(spans.run_ids)

    def _index(self, report: ReportBuilder, file: str) -> None:
        path = self.path
        self.categories = {}
        self.images = []
        run_ids: list[int] = []  # a list: an image id may be any int (past int64 too)
        starts, ends, counts = array('q'), array('q'), array('q')
        try:
            for key, offset, length, element in iter_top_level_arrays(path, _WANTED):
                if key == 'annotations':
                    image_id = element.get('image_id') if isinstance(element, dict) else None
                    image_id = image_id if isinstance(image_id, int) else -1
                    if run_ids and run_ids[-1] == image_id:
                        ends[-1] = offset + length
                        counts[-1] += 1
                    else:
                        run_ids.append(image_id)
                        starts.append(offset)
                        ends.append(offset + length)
                        counts.append(1)
                elif key == 'images':
                    self._image(element, report, file, offset)
                else:
                    self._category(element, file, offset)
        except JsonStreamError as exc:
            line = line_of(path, exc.offset)
            raise ValidationError(
                f'{file}: invalid JSON at line {line}: {exc}',
                {'file': str(path), 'line': line, 'reason': 'invalid_json'},
            ) from exc
        self._starts, self._ends, self._counts = starts, ends, counts
        self._group(run_ids)

    def _group(self, run_ids: Sequence[int]) -> None:
        # image id -> its first run, and its later runs apart: most images have one run, and an int is smaller
        # than a list
        self._first: dict[int, int] = dict(zip(run_ids, range(len(run_ids)), strict=True))
        self._later: dict[int, list[int]] = {}
        if len(self._first) == len(run_ids):  # one run per image (a file sorted by image): made in C
            return
        self._first = {}
        for run, image_id in enumerate(run_ids):
            if image_id in self._first:
                self._later.setdefault(image_id, []).append(run)
            else:
                self._first[image_id] = run

    def _runs(self, image_id: int) -> list[int]:
        """The runs of ``image_id``, in file order."""
        first = self._first.get(image_id)
        if first is None:
            return []
        later = self._later.get(image_id)
        return [first, *later] if later else [first]

    def _image(self, element: object, report: ReportBuilder, file: str, offset: int) -> None:
        try:
            self.images.append(_validated_image(element))
        except PydanticValidationError as exc:
            self._bad_image(exc, report, file, offset)

    def _bad_image(self, exc: PydanticValidationError, report: ReportBuilder, file: str, offset: int) -> None:
        report.items_seen += 1
        line = self._lines.line(offset)  # entries come in file order: one read of the file for all of them
        report.skip_item(f'image@line{line}', SkipReason.INVALID_VALUE, first_error(exc), file=file)

    def _category(self, element: object, file: str, offset: int) -> None:
        try:
            category = COCOCategory.model_validate(element)
        except PydanticValidationError as exc:
            line = line_of(self.path, offset)
            raise ValidationError(
                f'{file}: bad category at line {line}: {first_error(exc)}', {'file': str(self.path), 'line': line}
            ) from exc
        self.categories[category.id] = category

    def runs_of(self, fh: BinaryIO, image_id: int) -> Iterator[tuple[int, list[Any]]]:
        """``(place, parsed elements)`` of each run of annotations of ``image_id``, in file order; ``place`` is
        for :meth:`line_of_element` (the run's byte offset, or on the batched index its first annotation's number)."""
        if self.boxes is not None:
            raise RuntimeError('runs_of() needs the general index: this one keeps boxes (index.boxes)')
        for run in self._runs(image_id):
            start = self._starts[run]
            if self._spans is not None:
                yield start, self._spans.elements(fh, start, self._ends[run])
                continue
            fh.seek(start)
            yield start, orjson.loads(b'[' + fh.read(self._ends[run] - start) + b']')

    def count(self, image_id: int) -> int:
        """Number of annotations of ``image_id``."""
        return sum(self._counts[run] for run in self._runs(image_id))

    def add_boxes(self, image_id: int, names: dict[int, str], entry: dict[str, list[dict[str, Any]]]) -> int:
        """Fast path: add the DM objects of the annotations of ``image_id`` to ``entry``; returns how many
        annotations."""
        compact = self.boxes
        if compact is None:
            raise RuntimeError('add_boxes() needs the fast index: this one reads runs from the file (runs_of)')
        first = self._first.get(image_id)
        if first is None:
            return 0
        if image_id not in self._later:  # the common case: one run
            compact.dm_objects(self._starts[first], self._ends[first], names, entry)
            return self._counts[first]
        count = 0
        for run in self._runs(image_id):
            compact.dm_objects(self._starts[run], self._ends[run], names, entry)
            count += self._counts[run]
        return count

    def orphans(self) -> int:
        """Annotations whose ``image_id`` names no image."""
        known = {image.id for image in self.images}
        return sum(self.count(image_id) for image_id in self._first if image_id not in known)

    def line_of_element(self, run_start: int, elements: list[Any], element: object) -> int:
        """1-based line of ``element``, one of the parsed ``elements`` of the run that begins at byte ``run_start``.

        Calls for one run come in the order of its elements (each element once): the first finds where each
        element begins (one parse of the run), and each call looks on from where the last one stopped, so a
        run costs one pass however many of its elements are reported (and ``1`` or ``null`` elements, the same
        object each time, are told apart by place).
        """
        cached = self._run_places
        if cached is None or cached[0] is not elements:  # ``elements`` is kept: its id stays its own
            if self._spans is not None:  # the place is the run's first annotation's number
                run_start = self._spans.offset_of(self.path, run_start)
            cached = (elements, element_offsets(self.path, run_start, len(elements)), 0)
        _, offsets, start = cached
        position = next((k for k in range(start, len(elements)) if elements[k] is element), None)
        if position is None:  # asked out of order: from the start
            position = next(k for k, e in enumerate(elements) if e is element)
        self._run_places = (elements, offsets, position + 1)
        return self._lines.line(offsets[position])


class _Spans:
    """The batched general index of a file's annotations: where each batch lies, and runs as ranges of
    annotation numbers (in file order). A run is read again by parsing its batches; the last few parsed are
    kept, so a file whose images come in the order of their annotations parses each batch once more."""

    _KEEP = 4  #: parsed batches kept

    def __init__(self) -> None:
        self.offsets, self.lengths, self.firsts = array('q'), array('q'), array('q')  # per batch
        self.run_ids: list[int] = []  # a list: an image id may be any int (past int64 too)
        self.starts, self.ends, self.counts = array('q'), array('q'), array('q')
        self.total = 0
        self._parsed: dict[int, list[Any]] = {}

    def add(self, offset: int, length: int, elements: list[Any]) -> None:
        """Keep one batch: its place, and the runs it starts or goes on with."""
        self.offsets.append(offset)
        self.lengths.append(length)
        self.firsts.append(self.total)
        for element in elements:
            image_id = element.get('image_id') if isinstance(element, dict) else None
            image_id = image_id if isinstance(image_id, int) else -1
            if self.run_ids and self.run_ids[-1] == image_id:
                self.ends[-1] += 1
                self.counts[-1] += 1
            else:
                self.run_ids.append(image_id)
                self.starts.append(self.total)
                self.ends.append(self.total + 1)
                self.counts.append(1)
            self.total += 1

    def elements(self, fh: BinaryIO, start: int, end: int) -> list[Any]:
        """Annotations ``start:end`` (numbers in file order), parsed from their batches."""
        out: list[Any] = []
        batch = bisect_right(self.firsts, start) - 1
        while start < end:
            first, parsed = self.firsts[batch], self._batch(fh, batch)
            taken = parsed[start - first : end - first]
            out += taken
            start += len(taken)
            batch += 1
        return out

    def offset_of(self, path: Path, number: int) -> int:
        """Byte offset of annotation ``number``."""
        batch = bisect_right(self.firsts, number) - 1
        position = number - self.firsts[batch]
        return element_offsets(path, self.offsets[batch], position + 1)[position]

    def _batch(self, fh: BinaryIO, batch: int) -> list[Any]:
        parsed = self._parsed.get(batch)
        if parsed is None:
            fh.seek(self.offsets[batch])
            parsed = orjson.loads(b'[' + fh.read(self.lengths[batch]) + b']')
            if len(self._parsed) >= self._KEEP:
                del self._parsed[next(iter(self._parsed))]
            self._parsed[batch] = parsed
        return parsed
