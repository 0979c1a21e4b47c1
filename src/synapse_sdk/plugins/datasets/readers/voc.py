"""Pascal VOC: ``Annotations/<stem>.xml`` + ``JPEGImages/`` + ``ImageSets/Main/{train,val,test}.txt``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import find_image, inside
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.models.voc import VOCAnnotation
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkippedItem, SkipReason

__all__ = ['VOCReader', 'parse_voc_xml']

_SPLIT_FILES = (('train', 'train'), ('val', 'valid'), ('test', 'test'))


def _text(node: Element | None, tag: str, default: str | None = None) -> str | None:
    child = node.find(tag) if node is not None else None
    return child.text.strip() if child is not None and child.text is not None else default


def parse_voc_xml(data: bytes) -> VOCAnnotation:
    """Parse one VOC XML; raises ValueError on bad input, :class:`DefusedXmlException` on a DTD or entity.

    defusedxml refuses any ``<!DOCTYPE>`` (so no entity is ever declared, let alone expanded: a "billion
    laughs" file costs nothing) and external references; a VOC annotation never needs either.
    """
    root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    if root.tag != 'annotation':
        raise ValueError(f'root element is <{root.tag}>, expected <annotation>')
    size = root.find('size')
    objects: list[dict[str, Any]] = []
    for obj in root.findall('object'):
        box = obj.find('bndbox')
        objects.append(
            {
                'name': _text(obj, 'name'),
                'pose': _text(obj, 'pose', 'Unspecified'),
                'truncated': _text(obj, 'truncated', '0'),
                'difficult': _text(obj, 'difficult', '0'),
                'bndbox': {tag: _text(box, tag) for tag in ('xmin', 'ymin', 'xmax', 'ymax')}
                if box is not None
                else None,
            }
        )
    return VOCAnnotation.model_validate(
        {
            'folder': _text(root, 'folder', 'JPEGImages'),
            'filename': _text(root, 'filename'),
            'size': {tag: _text(size, tag, '0') for tag in ('width', 'height', 'depth')},
            'segmented': _text(root, 'segmented', '0'),
            'objects': objects,
        }
    )


def _tidy(value: float) -> float | int:
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded


class VOCReader(Reader):
    """Pascal VOC boxes; ``pose``, ``truncated`` and ``difficult`` become attrs when not the default."""

    format = DatasetFormat.PASCAL

    def __init__(self, root: Path, report: ReportBuilder, options: ConvertOptions, only: Path | None = None) -> None:
        if only is not None:
            root = only.parent.parent
        super().__init__(root, report, options, only)
        self.splits: dict[str, str] = {}
        main = root / 'ImageSets' / 'Main'
        for file_name, split in _SPLIT_FILES:
            listing = main / f'{file_name}.txt'
            if listing.is_file():
                for line in listing.read_text(encoding='utf-8').splitlines():
                    if line.split():
                        self.splits.setdefault(line.split()[0], split)
        self.has_splits = bool(self.splits)
        folder = root / 'Annotations'
        if only is None and not folder.is_dir():
            raise ValidationError(f'{root}: no Annotations/ folder; not a Pascal VOC dataset', {'root': str(root)})
        if only is not None:
            self.files = [only]
        else:
            self.files = sorted(folder / n for n in os.listdir(folder) if n.endswith('.xml')) if folder.is_dir() else []

    def total(self) -> int:
        """Number of XML files."""
        return len(self.files)

    def __iter__(self) -> Iterator[HubItem]:
        """One item per XML that parses and has its image."""
        for path in self.files:
            item = self._read(path)
            if item is not None:
                yield item

    def _read(self, path: Path) -> HubItem | None:
        report = self.report
        report.items_seen += 1
        stem = path.stem
        split = self.splits.get(stem)
        name = f'{split}/{stem}' if split else stem
        file = f'Annotations/{path.name}'
        try:
            parsed = parse_voc_xml(path.read_bytes())
        except ParseError as exc:
            line = exc.position[0]
            report.items_skipped.append(SkippedItem(item=name, reason=SkipReason.INVALID_XML, detail=str(exc)))
            report.problem(file, line, SkipReason.INVALID_XML, str(exc))
            return None
        except DefusedXmlException as exc:
            detail = f'{type(exc).__name__}: a DTD or entity (<!DOCTYPE>, <!ENTITY>) is not allowed in a VOC annotation'
            report.skip_item(name, SkipReason.INVALID_XML, detail, file=file)
            return None
        except ValueError as exc:
            detail = first_error(exc) if isinstance(exc, PydanticValidationError) else str(exc) or type(exc).__name__
            reason = SkipReason.INVALID_VALUE if isinstance(exc, PydanticValidationError) else SkipReason.INVALID_XML
            report.skip_item(name, reason, detail, file=file)
            return None
        images = self.root / 'JPEGImages'
        image = inside(images, parsed.filename) if parsed.filename else find_image(images, stem)
        if image is None and parsed.filename:
            report.skip_item(
                name, SkipReason.UNSAFE_PATH, f"filename '{parsed.filename}' leaves the dataset", file=file
            )
            return None
        if image is None or not image.is_file():
            image = find_image(images, stem)
        if image is None:
            report.skip_item(name, SkipReason.IMAGE_MISSING, f'no image for {stem} in JPEGImages/', file=file)
            return None
        item = HubItem(name, stem, split, image, file)
        if parsed.size.width > 0 and parsed.size.height > 0:
            item.width, item.height = parsed.size.width, parsed.size.height
        boxes = []
        for k, obj in enumerate(parsed.objects):
            report.annotations_seen += 1
            box = obj.bndbox
            if box.xmax < box.xmin or box.ymax < box.ymin:
                report.skip_annotation(
                    SkipReason.INVALID_VALUE, file=file, message=f'object[{k}]: xmax < xmin or ymax < ymin'
                )
                continue
            attrs: list[dict[str, Any]] = []
            if obj.pose != 'Unspecified':
                attrs.append({'name': 'pose', 'value': obj.pose})
            attrs += [{'name': key, 'value': 1} for key in ('truncated', 'difficult') if getattr(obj, key)]
            data = [_tidy(box.xmin), _tidy(box.ymin), _tidy(box.xmax - box.xmin), _tidy(box.ymax - box.ymin)]
            boxes.append({'id': f'o{k}', 'classification': obj.name, 'attrs': attrs, 'data': data})
        if boxes:
            item.entry['bounding_box'] = boxes
        return item
