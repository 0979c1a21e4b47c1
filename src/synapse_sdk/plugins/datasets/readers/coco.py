"""COCO: ``[split/]annotations.json`` or ``annotations/instances_<split>.json``, read in two streaming passes.

Where the files and their images may lie: :mod:`.coco_layout`. Pass 1 (:mod:`.coco_index`) keeps categories,
images and where each image's annotations are; pass 2 (here) makes one item per image, its annotations read
again by offset, or, on the fast path, built from the compact boxes of pass 1. Memory stays small for any file
size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.plugins.datasets._classes import ClassDetails, ClassMap
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import child, inside, safe_relative
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.models.coco import COCOAnnotation
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error
from synapse_sdk.plugins.datasets.readers.coco_index import COCOIndex, ImageEntry
from synapse_sdk.plugins.datasets.readers.coco_layout import COCOSource, locate_sources, regular_files
from synapse_sdk.plugins.datasets.readers.coco_objects import coco_annotation_to_dm, plain_annotations
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkippedItem, SkipReason

__all__ = ['COCOIndex', 'COCOReader']

#: a file name :func:`safe_relative` accepts without building a path: one part, no drive, not '.' or '..'
_PLAIN_NAME = re.compile(r'(?![A-Za-z]:)(?!\.\.?$)[^/\\\x00]+')


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
                # an annotation of an undefined category: the general index (batched) reports it, with its line
                again = COCOIndex(source.path, report, self._rel(source.path), compact=False)
                self.indexes[k] = (source, again)
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

    def _find(self, file_name: str, plain: bool) -> Path | None:
        """The image ``file_name`` names in the first image folder holding it (one set lookup for ``plain`` names:
        one part, see :data:`_PLAIN_NAME`)."""
        for folder, names in self._dirs:
            if plain and names is not None:
                if file_name in names:
                    return child(folder, file_name)
                continue
            path = inside(folder, file_name)
            if path is not None and path.is_file():
                return path
        return None

    def _tried(self, source: COCOSource) -> str:
        """The image folders of ``source``, relative to the dataset root, for a message."""
        names = [os.path.relpath(folder, self.root).replace(os.sep, '/') for folder in source.image_dirs]
        return ', '.join('./' if name == '.' else f'{name}/' for name in names)

    def _item(self, source: COCOSource, image: ImageEntry, index: COCOIndex, fh: BinaryIO, file: str) -> HubItem | None:
        report = self.report
        report.items_seen += 1
        split, file_name = source.split, image.file_name
        plain = _PLAIN_NAME.fullmatch(file_name) is not None
        dot = file_name.rfind('.')
        if plain and dot > 0 and file_name[0] != '.':  # what splitext gives, at a fifth of its cost
            stem = file_name[:dot]
        else:
            stem = os.path.splitext(file_name if plain else file_name.replace('\\', '/'))[0]
        name = f'{split}/{stem}' if split else stem
        if not plain and safe_relative(file_name) is None:
            report.skip_item(
                name, SkipReason.UNSAFE_PATH, f"file_name '{image.file_name}' leaves the dataset", file=file
            )
            self._drop(index.count(image.id), SkipReason.UNSAFE_PATH)
            return None
        path = self._find(file_name, plain)
        if path is None:
            detail = f'no image {image.file_name}'  # the report's problems also say where it was looked for
            report.items_skipped.append(SkippedItem(item=name, reason=SkipReason.IMAGE_MISSING, detail=detail))
            report.problem(file, None, SkipReason.IMAGE_MISSING, f'{detail} (looked in {self._tried(source)})')
            self._drop(index.count(image.id), SkipReason.IMAGE_MISSING)
            return None
        item = HubItem(
            name, stem if plain else stem.lstrip('/'), split, path, file, width=image.width, height=image.height
        )
        if index.boxes is not None:
            report.annotations_seen += index.add_boxes(image.id, self._names, item.entry)
            return item
        for offset, elements in index.runs_of(fh, image.id):
            report.annotations_seen += len(elements)
            other = partial(self._annotation, item, file=file, run=(offset, elements), index=index)
            plain_annotations(elements, self._names, item.entry, other)
        return item

    def _drop(self, count: int, reason: SkipReason) -> None:
        self.report.annotations_seen += count
        if count:
            self.report.annotations_skipped[reason.value] += count

    def _annotation(self, item: HubItem, element: Any, file: str, run: tuple[int, list[Any]], index: COCOIndex) -> None:
        """An annotation that is not plain (see :func:`plain_annotations`): validated, converted, or reported.

        ``run`` is ``(byte offset, elements)`` of the run of annotations ``element`` came in.
        """
        where = f'annotation id {element.get("id")}: ' if isinstance(element, dict) else ''

        def skip(reason: SkipReason, message: str) -> None:
            line = None
            if self.report.wants_problems():  # the line of this very annotation: found again only when kept
                line = index.line_of_element(run[0], run[1], element)
            self.report.skip_annotation(reason, file=file, line=line, message=where + message)

        try:
            annotation = COCOAnnotation.model_validate(element)
        except PydanticValidationError as exc:
            return skip(SkipReason.INVALID_VALUE, first_error(exc))
        category = self.categories.get(annotation.category_id)
        if category is None:
            return skip(SkipReason.CLASS_OUT_OF_RANGE, f'category_id {annotation.category_id} is not in categories')
        try:
            converted = coco_annotation_to_dm(annotation, category)
        except ValueError as exc:
            return skip(SkipReason.INVALID_VALUE, str(exc))
        if not converted:  # said, never dropped in silence
            if annotation.bbox is not None:
                reason, detail = SkipReason.EMPTY_BOX, f'bbox {list(annotation.bbox)} has no area'
            else:
                reason, detail = SkipReason.INVALID_VALUE, 'no bbox'
            return skip(reason, f'{detail}, and no segmentation or keypoints: nothing to read')
        for tool, anns in converted.items():
            item.entry.setdefault(tool, []).extend(anns)
        return None
