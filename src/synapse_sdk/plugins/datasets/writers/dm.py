"""DM v1 / v2 output: ``[split/]json/<stem>.json`` + ``[split/]original_files/<stem>.<ext>``."""

from __future__ import annotations

from typing import Any

import orjson

from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets.dm_versions import dm_v2_to_v1
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.readers.base import CLASSED_TOOLS
from synapse_sdk.plugins.datasets.writers.base import Writer, objects_of

__all__ = ['DMv1Writer', 'DMv2Writer']


class DMv2Writer(Writer):
    """DM v2; a DM source document passes through with its first image entry replaced by the checked one."""

    format = DatasetFormat.DM_V2

    def document(self, item: HubItem) -> dict[str, Any]:
        """The DM v2 document of ``item`` (with ``class_names`` given, only the objects of those classes)."""
        if self.classes.frozen:
            item.entry = self.known_classes_only(item)
        for tool in CLASSED_TOOLS:
            for annotation in item.entry.get(tool, ()):
                if annotation.get('classification'):
                    self.classes.id_for(annotation['classification'])
        if item.document is not None:
            document = dict(item.document)
            images = list(document.get('images') or [{}])
            images[0] = item.entry
            document['images'] = images
            if self.classes.frozen and isinstance(document.get('classification'), dict):
                known = self.classes.ids
                document['classification'] = {
                    tool: [n for n in names if n in known]
                    if tool in CLASSED_TOOLS and isinstance(names, list)
                    else names
                    for tool, names in document['classification'].items()
                }
            return document
        all_names = self.classes.ordered_names() if self.setup.full_class_list else None
        classification: dict[str, list[str]] = {}
        for tool, anns in item.entry.items():
            if tool in CLASSED_TOOLS and anns:
                used = sorted({a['classification'] for a in anns if a.get('classification')})
                classification[tool] = all_names if all_names is not None else used
        return {'classification': classification, 'images': [item.entry]}

    def known_classes_only(self, item: HubItem) -> dict[str, list[dict[str, Any]]]:
        """The entry without the objects whose class is not in ``class_names`` (each skipped ``unknown_class``).

        A box's object goes whole: the keypoints and shapes its group ties and the group itself; a relation
        that names a dropped annotation is dropped too (lossy ``relation``).
        """
        dropped: set[str] = set()
        for tool in CLASSED_TOOLS:
            for annotation in item.entry.get(tool, ()):
                if self.classes.ids.get(annotation.get('classification')) is None:  # type: ignore[arg-type]
                    self.class_id(annotation, item.source_file)  # records unknown_class
                    dropped.add(annotation['id'])
        if not dropped:
            return item.entry
        boxes = dropped.intersection(b['id'] for b in item.entry.get('bounding_box', ()))
        objs = objects_of(item)
        for box in boxes:
            dropped.update(objs.keypoints_of.get(box, ()), objs.shapes_of.get(box, ()))
        entry: dict[str, list[dict[str, Any]]] = {}
        for tool, anns in item.entry.items():
            if tool == 'group':
                groups = [self._without(g, dropped) for g in anns if boxes.isdisjoint(g['data'])]
                entry[tool] = [g for g in groups if g['data']]
            elif tool == 'relation':
                entry[tool] = [r for r in anns if dropped.isdisjoint(r['data'])]
                self.report.lose('relation', len(anns) - len(entry[tool]))
            else:
                entry[tool] = [a for a in anns if a.get('id') not in dropped]
        return entry

    @staticmethod
    def _without(group: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        return {**group, 'data': [m for m in group['data'] if m not in dropped]}

    def encode(self, item: HubItem) -> bytes:
        """The bytes of the output JSON."""
        return orjson.dumps(self.document(item), option=orjson.OPT_INDENT_2)

    def write(self, item: HubItem) -> None:
        """Write the JSON and place the image."""
        split = self.split_of(item)
        folder = self.folder(split)
        if split not in self.splits_written:
            (folder / 'json').mkdir(parents=True, exist_ok=True)
            (folder / 'original_files').mkdir(parents=True, exist_ok=True)
            self.splits_written.add(split)
        self.placer.write(folder / 'json' / f'{self.file_stem(item)}.json', self.encode(item))
        self.place_image(item, folder / 'original_files')
        self.report.items_written += 1
        self.report.annotations_written += item.count()

    def close(self) -> None:
        """Make sure a categorized output has train/ and valid/."""
        if self.setup.split_layout:
            for split in ('train', 'valid'):
                for sub in ('json', 'original_files'):
                    (self.out / split / sub).mkdir(parents=True, exist_ok=True)
        super().close()


class DMv1Writer(DMv2Writer):
    """DM v1 via :func:`dm_v2_to_v1` (restoring a v1 source's ``annotation_meta``)."""

    format = DatasetFormat.DM_V1

    def encode(self, item: HubItem) -> bytes:
        """The bytes of the output JSON."""
        return orjson.dumps(dm_v2_to_v1(self.document(item), item.meta), option=orjson.OPT_INDENT_2)
