"""Pass 1 over one COCO file (:class:`COCOIndex`): categories, images, and where each image's annotations are.

Two ways: the general one keeps, per run of annotations of one image, its byte offsets in the file (pass 2 reads
each run again); the fast one (:class:`~.coco_objects.CompactBoxes`), for files whose every annotation is
box-only, parses the file in batches of ~16 KiB and keeps each box as a few machine integers. Anything else (a
polygon, a bad value, a category no file defines, broken JSON) indexes the file again the general way, so
messages, lines and reports stay those of the general path.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
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
    line_of,
)
from synapse_sdk.plugins.datasets.models.coco import COCOCategory, COCOImage
from synapse_sdk.plugins.datasets.readers.base import first_error
from synapse_sdk.plugins.datasets.readers.coco_objects import CompactBoxes
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

    def __init__(self, path: Path, report: ReportBuilder, file: str, *, fast: bool = True) -> None:
        self.path = path
        self._lines = LineCounter(path)
        self._run_places: tuple[list[Any], list[int], int] | None = None  #: elements, offsets, where to look on
        self.boxes: CompactBoxes | None = None
        if fast:
            try:
                self._index_fast()
                return
            except (_NotFast, JsonStreamError):
                pass
        self.boxes = None
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

    def _index(self, report: ReportBuilder, file: str) -> None:
        path = self.path
        self.categories = {}
        self.images = []
        run_ids, starts, ends, counts = array('q'), array('q'), array('q'), array('q')
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

    def _group(self, run_ids: array[int]) -> None:
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

    def annotations_of(self, fh: BinaryIO, image_id: int) -> Iterator[tuple[int, Any]]:
        """``(byte offset of its run, parsed element)`` of each annotation of ``image_id``: one read per run."""
        for start, elements in self.runs_of(fh, image_id):
            for element in elements:
                yield start, element

    def runs_of(self, fh: BinaryIO, image_id: int) -> Iterator[tuple[int, list[Any]]]:
        """``(byte offset, parsed elements)`` of each run of annotations of ``image_id``, in file order."""
        if self.boxes is not None:
            raise RuntimeError('runs_of() needs the general index: this one keeps boxes (index.boxes)')
        for run in self._runs(image_id):
            start = self._starts[run]
            fh.seek(start)
            yield start, orjson.loads(b'[' + fh.read(self._ends[run] - start) + b']')

    def count(self, image_id: int) -> int:
        """Number of annotations of ``image_id``."""
        return sum(self._counts[run] for run in self._runs(image_id))

    def add_boxes(self, image_id: int, names: dict[int, str], entry: dict[str, list[dict[str, Any]]]) -> int:
        """Fast path: add the DM boxes of ``image_id`` to ``entry``; returns how many."""
        compact = self.boxes
        if compact is None:
            raise RuntimeError('add_boxes() needs the fast index: this one reads runs from the file (runs_of)')
        first = self._first.get(image_id)
        if first is None:
            return 0
        boxes = entry.setdefault('bounding_box', [])
        if image_id not in self._later:  # the common case: one run
            compact.dm_boxes(self._starts[first], self._ends[first], names, boxes)
            return self._counts[first]
        count = 0
        for run in self._runs(image_id):
            compact.dm_boxes(self._starts[run], self._ends[run], names, boxes)
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
            cached = (elements, element_offsets(self.path, run_start, len(elements)), 0)
        _, offsets, start = cached
        position = next((k for k in range(start, len(elements)) if elements[k] is element), None)
        if position is None:  # asked out of order: from the start
            position = next(k for k, e in enumerate(elements) if e is element)
        self._run_places = (elements, offsets, position + 1)
        return self._lines.line(offsets[position])
