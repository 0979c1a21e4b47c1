"""COCO output: ``[split/]annotations.json`` with the images beside it, streamed element by element."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from synapse_sdk.plugins.datasets._classes import ClassDetails
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.report import SkipReason
from synapse_sdk.plugins.datasets.writers.base import Objects, Writer, loose_keypoints, objects_of
from synapse_sdk.plugins.datasets.writers.coco_objects import (
    clip_box,
    empty_box,
    keypoint_triples,
    mask_annotation,
    polygon_annotation,
)

__all__ = ['COCOWriter']


class _Part:
    """A JSON array written element by element to a hidden file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: BinaryIO = open(path, 'wb')
        self.count = 0

    def add(self, element: dict[str, Any]) -> None:
        self.fh.write(b',' + orjson.dumps(element) if self.count else orjson.dumps(element))
        self.count += 1

    def extend(self, elements: list[dict[str, Any]]) -> None:
        """:meth:`add` each of ``elements``, in one encode and one write."""
        if elements:
            body = orjson.dumps(elements)[1:-1]  # the elements of the array, comma-separated
            self.fh.write(b',' + body if self.count else body)
            self.count += len(elements)

    def copy_to(self, out: BinaryIO) -> None:
        self.fh.close()
        with open(self.path, 'rb') as fh:
            shutil.copyfileobj(fh, out)
        os.unlink(self.path)


class COCOWriter(Writer):
    """Instances (boxes, polygons, RLE masks) and person keypoints (keypoints grouped with a box)."""

    format = DatasetFormat.COCO
    keeps_categories = True

    def __init__(self, setup: Any) -> None:
        super().__init__(setup)
        self.parts: dict[str | None, tuple[_Part, _Part]] = {}
        self.next_image = 1
        self.next_annotation = 1
        self.keypoint_names: dict[int, list[str]] = {}

    def file_stem(self, item: HubItem) -> str:
        """COCO keeps subfolders (``file_name`` may hold them)."""
        return item.stem

    def _parts(self, split: str | None) -> tuple[_Part, _Part]:
        if split not in self.parts:
            folder = self.folder(split)
            folder.mkdir(parents=True, exist_ok=True)
            self.parts[split] = (_Part(folder / '.images.part'), _Part(folder / '.annotations.part'))
            self.splits_written.add(split)
        return self.parts[split]

    def write(self, item: HubItem) -> None:
        """Add the item's image and annotations to its split's ``annotations.json``."""
        size = item.size()
        if size is None:
            self.report.skip_item(
                item.name, SkipReason.IMAGE_MISSING, 'cannot read the image size', file=item.source_file
            )
            self.report.annotations_skipped[SkipReason.IMAGE_MISSING.value] += item.count()
            return
        split = self.split_of(item)
        images, anns = self._parts(split)
        file_name = self.place_image(item, self.folder(split))
        image_id = self.next_image
        self.next_image += 1
        images.add({'id': image_id, 'file_name': file_name, 'width': size[0], 'height': size[1]})
        keep_ids = bool(self.classes.coco_ids)  # a COCO source: keep its category ids
        records = self._plain_records(item, size)
        if records is None:
            records = self._records(item, size)
        out = []
        for class_id, record in records:
            category_id = self.classes.coco_id(class_id) if keep_ids else class_id + 1
            record.update({'id': self.next_annotation, 'image_id': image_id, 'category_id': category_id})
            if not record.get('attributes'):
                record.pop('attributes', None)
            out.append(record)
            self.next_annotation += 1
        anns.extend(out)
        self.report.annotations_written += len(out)
        self.report.items_written += 1

    def _plain_records(self, item: HubItem, size: tuple[int, int]) -> list[tuple[int, dict[str, Any]]] | None:
        """The records of an item holding only boxes of known classes without attrs, inside the image.

        The common case, in one loop; None sends the item to :meth:`_records`, which gives the same records.
        """
        entry = item.entry
        boxes = entry.get('bounding_box')
        if boxes is None or len(entry) != 1:
            return None if entry else []
        ids = self.classes.ids
        width, height = size
        out: list[tuple[int, dict[str, Any]]] = []
        for box in boxes:
            name = box.get('classification')
            class_id = ids.get(name) if type(name) is str else None
            if class_id is None or box.get('attrs'):
                return None  # a class to add or report, attributes to carry: the general path
            data = box['data']
            x, y, w, h = data
            if not (x >= 0 and y >= 0 and x + w <= width and y + h <= height and w > 0 and h > 0):
                return None  # clipping (counted) or skipping: the general path
            out.append((class_id, {'bbox': list(data), 'area': w * h, 'iscrowd': 0, 'segmentation': []}))
        return out

    def _box_record(
        self, item: HubItem, box: dict[str, Any], objs: Objects, by_id: dict[str, dict[str, Any]]
    ) -> dict[str, Any] | None:
        if empty_box(box, item, self.report):
            return None
        if not box.get('attrs') and box['id'] not in objs.owned_by_box:
            x, y, w, h = box['data']
            width, height = item.size() or (0, 0)
            if x >= 0 and y >= 0 and x + w <= width and y + h <= height:  # the common case: a plain box inside
                return {'bbox': list(box['data']), 'area': w * h, 'iscrowd': 0, 'segmentation': []}
        bbox = clip_box(box['data'], item.size() or (0, 0), self.report)
        if bbox is None:
            self.report.skip_annotation(SkipReason.OUT_OF_IMAGE, file=item.source_file, message='box outside image')
            return None
        attributes = {a['name']: a.get('value') for a in box.get('attrs') or ()}
        record: dict[str, Any] = {'bbox': bbox, 'area': bbox[2] * bbox[3], 'iscrowd': 0, 'segmentation': []}
        record['attributes'] = attributes
        tied = [by_id[s] for s in objs.shapes_of.get(box['id'], ())]
        polygons = [polygon_annotation(s) for s in tied if s['_tool'] == 'polygon']
        masks = [mask_annotation(s) for s in tied if s['_tool'] == 'segmentation']
        if polygons:
            record['segmentation'] = [p['segmentation'][0] for p in polygons]
            record['area'] = sum(p['area'] for p in polygons)
            self.report.lose('segmentation', len(masks))
        elif masks:
            record.update(segmentation=masks[0]['segmentation'], area=masks[0]['area'], iscrowd=1)
            self.report.lose('segmentation', len(masks) - 1)
        points = [by_id[k] for k in objs.keypoints_of.get(box['id'], ())]
        if points:
            record['keypoints'], record['num_keypoints'], names = keypoint_triples(points)
            self.keypoint_names.setdefault(self.classes.id_for(box['classification']) or 0, names)
        return record

    def _records(self, item: HubItem, size: tuple[int, int]) -> list[tuple[int, dict[str, Any]]]:
        objs = objects_of(item)
        by_id = {
            a['id']: {**a, '_tool': tool}
            for tool in ('keypoint', 'polygon', 'segmentation')
            for a in item.entry.get(tool, ())
        }
        out: list[tuple[int, dict[str, Any]]] = []
        for box in item.entry.get('bounding_box', ()):
            class_id = self.class_id(box, item.source_file)
            record = self._box_record(item, box, objs, by_id) if class_id is not None else None
            if class_id is not None and record is not None:
                out.append((class_id, record))
        for tool, convert in (('polygon', polygon_annotation), ('segmentation', mask_annotation)):
            for shape in item.entry.get(tool, ()):
                if shape['id'] in objs.owned:
                    continue
                class_id = self.class_id(shape, item.source_file)
                if class_id is not None:
                    out.append((class_id, convert(shape)))
        for points in loose_keypoints(item, objs.owned):
            class_id = self.class_id(points[0], item.source_file)
            if class_id is None:
                continue
            flat, visible, names = keypoint_triples(points)
            xs, ys = flat[0::3], flat[1::3]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            record = {'bbox': bbox, 'area': bbox[2] * bbox[3], 'iscrowd': 0, 'segmentation': [], 'keypoints': flat}
            record['num_keypoints'] = visible
            self.keypoint_names.setdefault(class_id, names)
            out.append((class_id, record))
        self.skip_rest(item, {'bounding_box', 'polygon', 'segmentation', 'keypoint', 'group'})
        return out

    def _category(self, class_id: int, name: str) -> dict[str, Any]:
        """A ``categories`` entry; a COCO source's supercategory, keypoint names and skeleton are kept."""
        details = self.classes.details.get(name) or ClassDetails()
        category_id = self.classes.coco_id(class_id) if self.classes.coco_ids else class_id + 1
        category: dict[str, Any] = {'id': category_id, 'name': name, 'supercategory': details.supercategory}
        keypoints = details.keypoints or self.keypoint_names.get(class_id)
        if keypoints:
            category['keypoints'] = list(keypoints)
            category['skeleton'] = [list(pair) for pair in details.skeleton or ()]
        return category

    def close(self) -> None:
        """Assemble each split's ``annotations.json`` from its parts."""
        categories = [self._category(class_id, name) for class_id, name in sorted(self.classes.names.items())]
        if self.setup.split_layout:
            for split_name in ('train', 'valid'):
                self._parts(split_name)
        if not self.parts:
            self._parts(None)
        for split, (images, anns) in self.parts.items():
            with open(self.folder(split) / 'annotations.json', 'wb') as out:
                out.write(b'{"images":[')
                images.copy_to(out)
                out.write(b'],"annotations":[')
                anns.copy_to(out)
                out.write(b'],"categories":' + orjson.dumps(categories) + b'}')
        super().close()
