"""DM v1 / v2 folders: ``[split/]json/*.json`` paired with ``[split/]original_files/<stem>.<ext>``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import find_image
from synapse_sdk.plugins.datasets.dm_versions import dm_v1_to_v2
from synapse_sdk.plugins.datasets.formats import SPLITS, DatasetFormat
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error, validated_entry
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkippedItem, SkipReason

__all__ = ['DMv1Reader', 'DMv2Reader', 'dm_sources']


def dm_sources(root: Path, only: Path | None) -> list[tuple[str | None, Path, Path]]:
    """``(split, json folder, image folder)`` triples of a DM dataset (categorized iff train/ and valid/ exist)."""
    if only is not None:
        images = only.parent.parent / 'original_files'
        return [(None, only.parent, images if images.is_dir() else only.parent)]
    if (root / 'train').is_dir() and (root / 'valid').is_dir():
        return [(s, root / s / 'json', root / s / 'original_files') for s in SPLITS if (root / s).is_dir()]
    return [(None, root / 'json', root / 'original_files')]


class DMv2Reader(Reader):
    """DM v2 (also the base of the v1 reader, which converts each document first)."""

    format = DatasetFormat.DM_V2

    def __init__(self, root: Path, report: ReportBuilder, options: ConvertOptions, only: Path | None = None) -> None:
        super().__init__(root, report, options, only)
        self.sources = dm_sources(root, only)
        if only is None and not any(json_dir.is_dir() for _, json_dir, _ in self.sources):
            raise ValidationError(
                f'{root}: no json/ folder (nor train/ and valid/ splits holding one); not a DM dataset',
                {'root': str(root)},
            )
        self.has_splits = any(split for split, _, _ in self.sources)
        self._files: list[tuple[str | None, Path, Path, set[str]]] = []
        for split, json_dir, image_dir in self.sources:
            images = set(os.listdir(image_dir)) if image_dir.is_dir() else set()
            if only is not None:
                self._files.append((split, only, image_dir, images))
                continue
            names = sorted(n for n in os.listdir(json_dir) if n.endswith('.json')) if json_dir.is_dir() else []
            self._files.extend((split, json_dir / n, image_dir, images) for n in names)

    def total(self) -> int:
        """Number of JSON files."""
        return len(self._files)

    def __iter__(self) -> Iterator[HubItem]:
        """Yield one item per JSON file that parses and has its image."""
        for split, path, image_dir, images in self._files:
            item = self._read(split, path, image_dir, images)
            if item is not None:
                yield item

    def _convert(self, document: dict, name: str, file: str) -> tuple[dict, dict | None] | None:
        if _looks_like_v1(document):
            hint = "looks like dm_v1 ('annotations' and 'annotationsData', no 'images'); read it as dm_v1"
            self.report.skip_item(name, SkipReason.WRONG_FORMAT, hint, file=file)
            return None
        return document, None

    def _read(self, split: str | None, path: Path, image_dir: Path, images: set[str]) -> HubItem | None:
        report = self.report
        report.items_seen += 1
        stem = path.stem
        name = f'{split}/{stem}' if split else stem
        file = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name
        image = find_image(image_dir, stem, images)
        if image is None:
            report.skip_item(name, SkipReason.IMAGE_MISSING, f'no image {stem}.* in {image_dir.name}/', file=file)
            return None
        try:
            document = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            report.items_skipped.append(SkippedItem(item=name, reason=SkipReason.INVALID_JSON, detail=exc.msg))
            report.problem(file, exc.lineno, SkipReason.INVALID_JSON, f'{exc.msg} (line {exc.lineno} col {exc.colno})')
            return None
        if not isinstance(document, dict):
            report.skip_item(name, SkipReason.INVALID_JSON, 'the document is not a JSON object', file=file)
            return None
        converted = self._convert(document, name, file)
        if converted is None:
            return None
        data, meta = converted
        media = data.get('images')
        entry = validated_entry(media[0] if isinstance(media, list) and media else {}, report, file)
        if entry is None:
            report.skip_item(name, SkipReason.INVALID_VALUE, 'images[0] is not an object', file=file)
            return None
        return HubItem(name, stem, split, image, file, entry, document=data, meta=meta)


class DMv1Reader(DMv2Reader):
    """DM v1: each document goes through :func:`dm_v1_to_v2` first."""

    format = DatasetFormat.DM_V1

    def _convert(self, document: dict, name: str, file: str) -> tuple[dict, dict | None] | None:
        if _looks_like_v2(document):
            hint = "looks like dm_v2 ('images' or 'classification', no 'annotations'); read it as dm_v2"
            self.report.skip_item(name, SkipReason.WRONG_FORMAT, hint, file=file)
            return None
        try:
            converted = dm_v1_to_v2(document)
        except PydanticValidationError as exc:
            self.report.skip_item(name, SkipReason.INVALID_VALUE, first_error(exc), file=file)
            return None
        except (KeyError, TypeError, ValueError) as exc:
            self.report.skip_item(name, SkipReason.INVALID_VALUE, f'bad coordinate: {exc!r}', file=file)
            return None
        return converted['annotation_data'], converted['annotation_meta']


_V1_KEYS = frozenset({'annotations', 'annotationsData'})
_V2_KEYS = frozenset({'images', 'classification'})


def _looks_like_v1(document: dict) -> bool:
    """A DM v1 document: geometry in ``annotations`` / ``annotationsData``, no ``images`` list."""
    return 'images' not in document and not _V1_KEYS.isdisjoint(document)


def _looks_like_v2(document: dict) -> bool:
    """A DM v2 document: ``images`` (or ``classification``) and none of the v1 keys."""
    return _V1_KEYS.isdisjoint(document) and not _V2_KEYS.isdisjoint(document)
