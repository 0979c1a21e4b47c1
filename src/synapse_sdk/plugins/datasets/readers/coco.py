"""COCO: ``[split/]annotations.json`` or ``annotations/instances_<split>.json``, read in two streaming passes.

Where the files and their images may lie: :mod:`.coco_layout`.

Pass 1 keeps categories, images and, per annotation, only ``(image_id, byte offset, length)``;
pass 2 re-reads each image's annotations by offset. Memory stays small for any file size.

Fast path (:class:`~.coco_objects.CompactBoxes`): when every annotation of a file is box-only, pass 1 parses the
file in batches of ~16 KiB and keeps each box as a few machine integers; pass 2 builds the DM boxes from them
without reading the file again. Anything else (a polygon, a bad value, a category no file defines, broken JSON)
indexes the file again the general way, so messages, lines and reports stay those of the general path.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._classes import ClassDetails, ClassMap
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._jsonstream import (
    JsonStreamError,
    iter_top_level_arrays,
    iter_top_level_batches,
    line_of,
)
from synapse_sdk.plugins.datasets._paths import inside, safe_relative
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.models.coco import COCOAnnotation, COCOCategory, COCOImage
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error
from synapse_sdk.plugins.datasets.readers.coco_layout import COCOSource, locate_sources, regular_files
from synapse_sdk.plugins.datasets.readers.coco_objects import CompactBoxes, coco_annotation_to_dm, plain_boxes
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkippedItem, SkipReason

__all__ = ['COCOIndex', 'COCOReader']

_WANTED = frozenset({'images', 'annotations', 'categories'})
#: a file name :func:`safe_relative` accepts without building a path: one part, no drive, not '.' or '..'
_PLAIN_NAME = re.compile(r'(?![A-Za-z]:)(?!\.\.?$)[^/\\\x00]+')


class _NotFast(Exception):
    """The fast path does not apply to this file: index it the general way."""


class COCOIndex:
    """Pass 1 over one COCO file: categories, images, and the byte runs of each image's annotations.

    A run is a stretch of consecutive annotations of one image (a file sorted by ``image_id`` has one run
    per image), so memory is a few integers per image, not the annotations themselves. With ``boxes`` set
    (the fast path), a run's start and end index ``boxes`` instead of the file.
    """

    def __init__(self, path: Path, report: ReportBuilder, file: str, *, fast: bool = True) -> None:
        self.path = path
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
        self.images: list[COCOImage] = []
        boxes = CompactBoxes()
        categories: list[COCOCategory] = []
        try:
            for key, elements in iter_top_level_batches(self.path, _WANTED):
                if key == 'annotations':
                    if not boxes.add(elements):
                        raise _NotFast
                elif key == 'images':
                    self.images.extend(map(COCOImage.model_validate, elements))
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
        self._first: dict[int, int] = {}
        self._later: dict[int, list[int]] = {}
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
            self.images.append(COCOImage.model_validate(element))
        except PydanticValidationError as exc:
            report.items_seen += 1
            line = line_of(self.path, offset)
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
        if self.boxes is None:
            raise RuntimeError('add_boxes() needs the fast index: this one reads runs from the file (runs_of)')
        runs = self._runs(image_id)
        if not runs:
            return 0
        boxes, count = entry.setdefault('bounding_box', []), 0
        for run in runs:
            self.boxes.dm_boxes(self._starts[run], self._ends[run], names, boxes)
            count += self._counts[run]
        return count

    def orphans(self) -> int:
        """Annotations whose ``image_id`` names no image."""
        known = {image.id for image in self.images}
        return sum(self.count(image_id) for image_id in self._first if image_id not in known)


class COCOReader(Reader):
    """COCO instances / person keypoints, in any layout :func:`locate_sources` reads."""

    format = DatasetFormat.COCO

    def __init__(
        self, root: Path, report: ReportBuilder, options: ConvertOptions, only: Path | None = None, *, fast: bool = True
    ) -> None:
        """``fast=False`` indexes every file the general way (the fast path gives the same items and report)."""
        root, self.sources = locate_sources(root, only)
        super().__init__(root, report, options, only)
        self.has_splits = any(source.split for source in self.sources)
        self.indexes = [
            (source, COCOIndex(source.path, report, self._rel(source.path), fast=fast)) for source in self.sources
        ]
        categories = {cid: c for _, index in self.indexes for cid, c in index.categories.items()}
        self.categories = categories
        self.classes = ClassMap.from_list([categories[cid].name for cid in sorted(categories)])
        self.classes.coco_ids = dict(enumerate(sorted(categories)))
        self.classes.details = {
            c.name: ClassDetails(c.supercategory, c.keypoints, [list(p) for p in c.skeleton] if c.skeleton else None)
            for c in categories.values()
        }
        self._names = {cid: category.name for cid, category in categories.items()}
        for k, (source, index) in enumerate(self.indexes):
            if index.boxes is not None and not index.boxes.categories.issubset(self._names):
                # a box of an undefined category: the general path reports it, with its line
                self.indexes[k] = (source, COCOIndex(source.path, report, self._rel(source.path), fast=False))
        point_counts = {len(c.keypoints) for c in categories.values() if c.keypoints}
        self.kpt_shape = (max(point_counts), 3) if point_counts else None
        #: the image folders of the annotation file being read, each with its regular files (None: unread)
        self._dirs: list[tuple[Path, frozenset[str] | None]] = []

    def _rel(self, path: Path) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, '/')

    def class_map(self) -> ClassMap:
        """Categories sorted by id, re-numbered from 0; their COCO ids and details ride along for COCO output."""
        return self.classes

    def total(self) -> int:
        """Number of images."""
        return sum(len(index.images) for _, index in self.indexes)

    def __iter__(self) -> Iterator[HubItem]:
        """One item per ``images`` entry; annotations come by offset from pass 1."""
        for source, index in self.indexes:
            file = self._rel(source.path)
            orphans = index.orphans()
            if orphans:
                self._drop(orphans, SkipReason.IMAGE_MISSING)
                self.report.problem(file, None, SkipReason.IMAGE_MISSING, f'{orphans} annotations name no image')
            self._dirs = [(folder, regular_files(folder)) for folder in source.image_dirs if folder.is_dir()]
            with open(source.path, 'rb') as fh:
                for image in index.images:
                    item = self._item(source, image, index, fh, file)
                    if item is not None:
                        yield item

    def _find(self, file_name: str) -> Path | None:
        """The image ``file_name`` names in the first image folder holding it (one set lookup for plain names)."""
        plain = '/' not in file_name and '\\' not in file_name
        for folder, names in self._dirs:
            if plain and names is not None:
                if file_name in names:
                    return folder / file_name
                continue
            path = inside(folder, file_name)
            if path is not None and path.is_file():
                return path
        return None

    def _tried(self, source: COCOSource) -> str:
        """The image folders of ``source``, relative to the dataset root, for a message."""
        names = [os.path.relpath(folder, self.root).replace(os.sep, '/') for folder in source.image_dirs]
        return ', '.join('./' if name == '.' else f'{name}/' for name in names)

    def _item(self, source: COCOSource, image: COCOImage, index: COCOIndex, fh, file: str) -> HubItem | None:
        report = self.report
        report.items_seen += 1
        split = source.split
        stem = os.path.splitext(image.file_name.replace('\\', '/'))[0]
        name = f'{split}/{stem}' if split else stem
        if _PLAIN_NAME.fullmatch(image.file_name) is None and safe_relative(image.file_name) is None:
            report.skip_item(
                name, SkipReason.UNSAFE_PATH, f"file_name '{image.file_name}' leaves the dataset", file=file
            )
            self._drop(index.count(image.id), SkipReason.UNSAFE_PATH)
            return None
        path = self._find(image.file_name)
        if path is None:
            detail = f'no image {image.file_name}'  # the report's problems also say where it was looked for
            report.items_skipped.append(SkippedItem(item=name, reason=SkipReason.IMAGE_MISSING, detail=detail))
            report.problem(file, None, SkipReason.IMAGE_MISSING, f'{detail} (looked in {self._tried(source)})')
            self._drop(index.count(image.id), SkipReason.IMAGE_MISSING)
            return None
        item = HubItem(name, stem.lstrip('/'), split, path, file, width=image.width, height=image.height)
        if index.boxes is not None:
            report.annotations_seen += index.add_boxes(image.id, self._names, item.entry)
            return item
        for offset, elements in index.runs_of(fh, image.id):
            report.annotations_seen += len(elements)
            other = partial(self._annotation, item, file=file, offset=offset, index=index)
            plain_boxes(elements, self._names, item.entry, other)
        return item

    def _drop(self, count: int, reason: SkipReason) -> None:
        self.report.annotations_seen += count
        if count:
            self.report.annotations_skipped[reason.value] += count

    def _annotation(self, item: HubItem, element: Any, file: str, offset: int, index: COCOIndex) -> None:
        """An annotation that is not box-only (see :func:`plain_boxes`): validated, converted, or reported."""
        report = self.report
        where = f'annotation id {element.get("id")}: ' if isinstance(element, dict) else ''
        try:
            annotation = COCOAnnotation.model_validate(element)
        except PydanticValidationError as exc:
            line = line_of(index.path, offset)
            report.skip_annotation(SkipReason.INVALID_VALUE, file=file, line=line, message=where + first_error(exc))
            return
        category = self.categories.get(annotation.category_id)
        if category is None:
            line = line_of(index.path, offset)
            message = f'{where}category_id {annotation.category_id} is not in categories'
            report.skip_annotation(SkipReason.CLASS_OUT_OF_RANGE, file=file, line=line, message=message)
            return
        try:
            converted = coco_annotation_to_dm(annotation, category)
        except ValueError as exc:
            line = line_of(index.path, offset)
            report.skip_annotation(SkipReason.INVALID_VALUE, file=file, line=line, message=where + str(exc))
            return
        for tool, anns in converted.items():
            item.entry.setdefault(tool, []).extend(anns)
