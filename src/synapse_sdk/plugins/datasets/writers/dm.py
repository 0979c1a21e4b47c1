"""DM v1 / v2 output: ``[split/]json/<stem>.json`` + ``[split/]original_files/<stem>.<ext>``."""

from __future__ import annotations

from typing import Any

import orjson

from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets.dm_versions import dm_v2_to_v1
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.readers.base import CLASSED_TOOLS
from synapse_sdk.plugins.datasets.writers.base import Writer

__all__ = ['DMv1Writer', 'DMv2Writer']


class DMv2Writer(Writer):
    """DM v2; a DM source document passes through with its first image entry replaced by the checked one."""

    format = DatasetFormat.DM_V2

    def document(self, item: HubItem) -> dict[str, Any]:
        """The DM v2 document of ``item``."""
        for tool in CLASSED_TOOLS:
            for annotation in item.entry.get(tool, ()):
                if annotation.get('classification'):
                    self.classes.id_for(annotation['classification'])
        if item.document is not None:
            document = dict(item.document)
            images = list(document.get('images') or [{}])
            images[0] = item.entry
            document['images'] = images
            return document
        all_names = self.classes.ordered_names() if self.setup.full_class_list else None
        classification: dict[str, list[str]] = {}
        for tool, anns in item.entry.items():
            if tool in CLASSED_TOOLS and anns:
                used = sorted({a['classification'] for a in anns if a.get('classification')})
                classification[tool] = all_names if all_names is not None else used
        return {'classification': classification, 'images': [item.entry]}

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
