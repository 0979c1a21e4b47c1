"""What every reader provides: items as DM v2 (the hub), plus what it knows up front."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.plugins.datasets._classes import ClassMap
from synapse_sdk.plugins.datasets._hub import HubItem, object_count
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.models.dm_v2 import DM_V2_TOOLS
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

__all__ = ['CLASSED_TOOLS', 'Reader', 'first_error', 'validated_entry']

#: tools whose classification names a class of the dataset (keypoints, relations and groups do not add classes)
CLASSED_TOOLS = ('bounding_box', 'polygon', 'polyline', 'segmentation')


class Reader(ABC):
    """Reads one dataset (``root``), or one file of it (``only``), as :class:`HubItem` s."""

    format: DatasetFormat

    def __init__(self, root: Path, report: ReportBuilder, options: ConvertOptions, only: Path | None = None) -> None:
        self.root = root
        self.report = report
        self.options = options
        self.only = only
        self.has_splits = False
        self.kpt_shape: tuple[int, int] | None = None
        self.flip_idx: list[int] | None = None  #: YOLO pose ``flip_idx``, when the source declares it

    def class_map(self) -> ClassMap | None:
        """Class ids and names when the source declares them (YOLO, COCO); None otherwise."""
        return None

    @abstractmethod
    def total(self) -> int:
        """Number of items, for progress."""

    @abstractmethod
    def __iter__(self) -> Iterator[HubItem]:
        """Yield every readable item; record skipped items and annotations in the report."""

    def scan_classes(self) -> list[str]:
        """Every class name used by a box, polygon, polyline or mask, sorted (a silent first pass)."""
        silent = type(self)(self.root, ReportBuilder(self.format), self.options, self.only)
        names: set[str] = set()
        for item in silent:
            for tool in CLASSED_TOOLS:
                names.update(a['classification'] for a in item.entry.get(tool, ()) if a.get('classification'))
        return sorted(names)


def first_error(exc: PydanticValidationError) -> str:
    """``loc: message`` of a pydantic error's first problem."""
    error = exc.errors()[0]
    location = '.'.join(str(part) for part in error['loc'])
    return f'{location}: {error["msg"]}' if location else error['msg']


def validated_entry(entry: Any, report: ReportBuilder, file: str) -> dict[str, list[dict[str, Any]]] | None:
    """Keep the annotations of a DM v2 image entry whose ``data`` is valid for their tool; None if not a mapping.

    ``annotations_seen`` grows by the objects kept (:func:`object_count`) plus one per annotation left out.
    """
    if not isinstance(entry, dict):
        return None
    kept: dict[str, list[dict[str, Any]]] = {}
    for tool, anns in entry.items():
        if not isinstance(anns, list):
            report.annotations_seen += 1
            report.skip_annotation(SkipReason.INVALID_VALUE, file=file, message=f'{tool}: expected a list')
            continue
        model = DM_V2_TOOLS.get(tool)
        good: list[dict[str, Any]] = []
        for index, annotation in enumerate(anns):
            if model is not None:
                try:
                    model.model_validate(annotation)
                except PydanticValidationError as exc:
                    message = f'{tool}[{index}] {first_error(exc)}'
                    report.annotations_seen += 1
                    report.skip_annotation(SkipReason.INVALID_VALUE, file=file, message=message)
                    continue
            elif not isinstance(annotation, dict):
                report.annotations_seen += 1
                report.skip_annotation(SkipReason.INVALID_VALUE, file=file, message=f'{tool}[{index}] is not an object')
                continue
            good.append(annotation)
        kept[tool] = good
    report.annotations_seen += object_count(kept)
    return kept
