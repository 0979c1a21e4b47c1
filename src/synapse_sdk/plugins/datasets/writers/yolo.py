"""YOLO output: ``[split/]images/`` + ``[split/]labels/<stem>.txt`` + ``dataset.yaml`` + ``classes.txt``."""

from __future__ import annotations

import os
from typing import Any

import yaml

from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets.formats import DatasetFormat, YoloTask
from synapse_sdk.plugins.datasets.report import SkipReason
from synapse_sdk.plugins.datasets.writers.base import Writer, WriterSetup, loose_keypoints, objects_of
from synapse_sdk.plugins.datasets.writers.coco_objects import clip_box, empty_box

__all__ = ['YoloWriter']

_DETECT_ROW = '%d %.6f %.6f %.6f %.6f\n'  #: the same text as ``f'{class_id} {self._box(...)}'`` row by row


class YoloWriter(Writer):
    """One task type per output (``yolo_task``): detect, segment or pose."""

    format = DatasetFormat.YOLO

    def __init__(self, setup: WriterSetup) -> None:
        super().__init__(setup)
        self._folders: dict[str | None, tuple[str, str]] = {}  #: split → its labels and images folders

    def _norm(self, value: float) -> str:
        if value < 0.0 or value > 1.0:
            value = 0.0 if value < 0.0 else 1.0
            self.report.clamped += 1
        return f'{value:.6f}'

    def _box(self, data: list[float], size: tuple[int, int]) -> str | None:
        """``cx cy w h`` of the part of the box inside the image (each moved edge counted); None if none is."""
        x, y, w, h = data
        width, height = size
        if x < 0 or y < 0 or x + w > width or y + h > height:
            clipped = clip_box(data, size, self.report)
            if clipped is None:
                return None
            x, y, w, h = clipped
        cx, cy, nw, nh = (x + w / 2) / width, (y + h / 2) / height, w / width, h / height
        return f'{cx:.6f} {cy:.6f} {nw:.6f} {nh:.6f}'

    def _box_or_skip(self, box: dict[str, Any], item: HubItem, size: tuple[int, int]) -> str | None:
        if empty_box(box, item, self.report):
            return None
        text = self._box(box['data'], size)
        if text is None:
            self.report.skip_annotation(SkipReason.OUT_OF_IMAGE, file=item.source_file, message='box outside image')
        return text

    def _points(self, points: list[list[float]], size: tuple[int, int]) -> str:
        width, height = size
        return ' '.join(f'{self._norm(px / width)} {self._norm(py / height)}' for px, py in points)

    def write(self, item: HubItem) -> None:
        """Write the label file and place the image; an unreadable image skips the item."""
        size = item.size()
        if size is None:
            self.report.skip_item(
                item.name, SkipReason.IMAGE_MISSING, 'cannot read the image size', file=item.source_file
            )
            self.report.annotations_skipped[SkipReason.IMAGE_MISSING.value] += item.count()
            return
        task = self.options.yolo_task
        label = self._plain_boxes(item, size) if task is YoloTask.DETECT else None
        if label is not None:
            text, count = label
        else:
            rows = self._pose_rows(item, size) if task is YoloTask.POSE else self._shape_rows(item, size, task)
            text, count = ''.join(f'{r}\n' for r in rows), len(rows)
        split = self.split_of(item)
        folders = self._folders.get(split)
        if folders is None:
            folder = self.folder(split)
            (folder / 'labels').mkdir(parents=True, exist_ok=True)
            (folder / 'images').mkdir(parents=True, exist_ok=True)
            self.splits_written.add(split)
            folders = self._folders[split] = (os.fspath(folder / 'labels'), os.fspath(folder / 'images'))
        labels, images = folders
        stem = self.file_stem(item)
        self.placer.write(f'{labels}/{stem}.txt', text.encode())
        if item.image is not None:
            self.placer.place(item.image, f'{images}/{stem}{item.image.suffix}')
        self.report.items_written += 1
        self.report.annotations_written += count

    def _plain_boxes(self, item: HubItem, size: tuple[int, int]) -> tuple[str, int] | None:
        """Detect rows of an item holding only boxes of known classes without attrs, in one format call.

        None sends the item to the general path (:meth:`_shape_rows`), whose output this equals byte for byte.
        """
        entry = item.entry
        boxes = entry.get('bounding_box')
        if boxes is None or len(entry) != 1:
            return None if entry else ('', 0)
        ids = self.classes.ids
        width, height = size
        values: list[float | int] = []
        for box in boxes:
            name = box.get('classification')
            class_id = ids.get(name) if type(name) is str else None
            if class_id is None or box.get('attrs'):
                return None  # unknown class or attrs to count: the general path reports them
            x, y, w, h = box['data']
            if not (0 <= x and 0 <= y and x + w <= width and y + h <= height and w > 0 and h > 0):
                return None  # leaves the image or has no area: the general path clips, skips and counts it
            values += (class_id, (x + w / 2) / width, (y + h / 2) / height, w / width, h / height)
        return _DETECT_ROW * len(boxes) % tuple(values), len(boxes)

    def _shape_rows(self, item: HubItem, size: tuple[int, int], task: YoloTask) -> list[str]:
        objs = objects_of(item)
        polygons = {p['id']: p for p in item.entry.get('polygon', ())}
        rows: list[str] = []
        for box in item.entry.get('bounding_box', ()):
            class_id = self.class_id(box, item.source_file)
            if class_id is None:
                continue
            if task is YoloTask.DETECT:
                text = self._box_or_skip(box, item, size)
                if text is not None:
                    self.lose_attrs(box)
                    rows.append(f'{class_id} {text}')
                continue
            self.lose_attrs(box)
            tied = [polygons[s] for s in objs.shapes_of.get(box['id'], ()) if s in polygons]
            if tied:
                rows += [f'{class_id} {self._points(p["data"], size)}' for p in tied]
                continue
            if empty_box(box, item, self.report):
                continue
            clipped = clip_box(box['data'], size, self.report)
            if clipped is None:
                self.report.skip_annotation(SkipReason.OUT_OF_IMAGE, file=item.source_file, message='box outside image')
                continue
            x, y, w, h = clipped
            corners = [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
            rows.append(f'{class_id} {self._points(corners, size)}')
        tools = {'bounding_box'}
        owned = objs.owned
        if task is YoloTask.SEGMENT:
            tools.add('polygon')
            for polygon in polygons.values():
                if polygon['id'] in owned:
                    continue
                class_id = self.class_id(polygon, item.source_file)
                if class_id is not None:
                    self.lose_attrs(polygon)
                    rows.append(f'{class_id} {self._points(polygon["data"], size)}')
            owned = owned - polygons.keys()
        self.skip_rest(item, tools, owned | objs.box_groups)
        return rows

    def _kpt_shape(self, item: HubItem, by_box: dict[str, list[str]]) -> tuple[int, int]:
        if self.setup.kpt_shape is None:
            longest = max((len(points) for points in by_box.values()), default=0)
            if not longest:
                longest = max((len(g.get('data') or []) for g in item.entry.get('group', ())), default=0) or 1
            self.setup.kpt_shape = (longest, 3)
        return self.setup.kpt_shape

    def _keypoint_values(self, points: list[dict[str, Any]], size: tuple[int, int], shape: tuple[int, int]) -> str:
        count, dims = shape
        values: list[str] = []
        for point in points[:count]:
            values += [self._norm(point['data'][0] / size[0]), self._norm(point['data'][1] / size[1])]
            if dims == 3:
                attrs = {a.get('name'): a.get('value') for a in point.get('attrs') or ()}
                values.append(str(int(attrs.get('visibility', 2))))
        missing = count - min(len(points), count)
        values += ['0'] * (missing * dims)
        if len(points) > count:
            self.report.lose('keypoints', len(points) - count)
        return ' '.join(values)

    def _pose_rows(self, item: HubItem, size: tuple[int, int]) -> list[str]:
        objs = objects_of(item)
        by_box, owned = objs.keypoints_of, objs.owned
        shape = self._kpt_shape(item, by_box)
        keypoints = {k['id']: k for k in item.entry.get('keypoint', ())}
        rows: list[str] = []
        for box in item.entry.get('bounding_box', ()):
            class_id = self.class_id(box, item.source_file)
            if class_id is None:
                continue
            text = self._box_or_skip(box, item, size)
            if text is None:
                continue
            self.lose_attrs(box)
            points = [keypoints[k] for k in by_box.get(box['id'], ())]
            rows.append(f'{class_id} {text} {self._keypoint_values(points, size, shape)}')
        loose = loose_keypoints(item, owned)
        for points in loose:
            class_id = self.class_id(points[0], item.source_file)
            if class_id is not None:
                self.report.lose('keypoint_box')
                rows.append(
                    f'{class_id} 0.500000 0.500000 1.000000 1.000000 {self._keypoint_values(points, size, shape)}'
                )
        self.skip_rest(item, {'bounding_box', 'keypoint', 'group'}, owned)
        return rows

    def close(self) -> None:
        """Write ``dataset.yaml`` (Ultralytics keys) and ``classes.txt``."""
        names = self.classes.ordered_names()
        splits = {s for s in self.splits_written if s}
        config: dict[str, Any] = {'path': '.'}  # the folder of dataset.yaml: the dataset can be moved
        if self.setup.split_layout:
            for split in ('train', 'valid'):
                (self.out / split / 'images').mkdir(parents=True, exist_ok=True)
                (self.out / split / 'labels').mkdir(parents=True, exist_ok=True)
            config.update({'train': 'train/images', 'val': 'valid/images'})
            if 'test' in splits:
                config['test'] = 'test/images'
        else:
            (self.out / 'images').mkdir(parents=True, exist_ok=True)
            (self.out / 'labels').mkdir(parents=True, exist_ok=True)
            config.update({'train': 'images', 'val': 'images'})
        config['nc'] = len(names)
        config['names'] = names
        if self.options.yolo_task is YoloTask.POSE:
            config['kpt_shape'] = list(self.setup.kpt_shape or (1, 3))
            flip_idx = self.setup.flip_idx
            if flip_idx is not None and len(flip_idx) == config['kpt_shape'][0]:
                config['flip_idx'] = list(flip_idx)
                self.flip_idx_written = True
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        (self.out / 'dataset.yaml').write_text(text, encoding='utf-8')
        (self.out / 'classes.txt').write_text(''.join(f'{n}\n' for n in names), encoding='utf-8')
        super().close()
