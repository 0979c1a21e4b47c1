"""Export items into a dataset folder: stage each as DM v2 (media + JSON), then convert with our converters.

Staging (:mod:`.staging`) downloads ``concurrency`` items at a time and is resumable (:mod:`.ledger`): an item
is downloaded and written once; a run that stops (the
backend gone, a kill) leaves its staged items and their ``done`` lines, and the next run with the same
export key downloads only the rest. When every item is accounted for, the staged DM v2 folder is
converted into the output (COCO / YOLO / Pascal VOC / DM), the per-item report is written beside it,
and the staging and ledger are removed (unless items failed: then they are kept for a retry).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from synapse_sdk.plugins.actions.export.items import ExportItem
from synapse_sdk.plugins.actions.export.ledger import ExportLedger
from synapse_sdk.plugins.actions.export.report import ExportReport
from synapse_sdk.plugins.actions.export.staging import (
    DEFAULT_CONCURRENCY,
    ExportInterrupted,
    StageSettings,
    stage_items,
)

__all__ = ['FORMATS', 'ExportInterrupted', 'ExportSettings', 'output_format_id', 'run_export']

#: accepted ``output_format`` → converter format id
FORMATS = {
    'coco': 'coco',
    'yolo': 'yolo',
    'voc': 'pascal',
    'pascal': 'pascal',
    'dm': 'dm_v2',
    'dm_v2': 'dm_v2',
    'dm_v1': 'dm_v1',
}
Progress = Callable[[int, int], None]


def output_format_id(value: str) -> str:
    """The converter id of ``output_format``; ``ValueError`` listing the accepted names otherwise."""
    fmt = FORMATS.get(str(value).strip().lower())
    if fmt is None:
        raise ValueError(f"output_format: unknown format '{value}'; use one of {', '.join(sorted(FORMATS))}")
    return fmt


@dataclass(frozen=True)
class ExportSettings:
    target: str
    output: Path
    output_format: str  #: a converter id (see :func:`output_format_id`)
    overwrite: bool = False
    max_file_bytes: int | None = None
    options: dict[str, Any] | None = None  #: extra :class:`ConvertOptions` (``class_names``, ``yolo_task`` ...)
    concurrency: int = DEFAULT_CONCURRENCY  #: media downloads in flight at once


def _prune(staging: Path, keep: set[str]) -> None:
    """Remove staged files of items this listing no longer holds (left by an earlier run)."""
    for folder in (staging / 'json', staging / 'original_files'):
        for path in folder.iterdir():
            if path.name.endswith('.part') or path.stem not in keep:
                path.unlink()


def _convert(staging: Path, settings: ExportSettings, progress: Progress | None) -> Any:
    from synapse_sdk.plugins.datasets.converter import get_converter

    options = {**(settings.options or {}), 'overwrite': settings.overwrite}
    converter = get_converter('dm_v2', settings.output_format, **options)
    return converter.convert(staging, settings.output, progress=progress)


def run_export(
    client: Any,
    items: Iterable[ExportItem],
    count: int,
    ledger: ExportLedger,
    settings: ExportSettings,
    *,
    on_item: Progress | None = None,
    on_convert: Progress | None = None,
) -> ExportReport:
    """Stage every item (skipping those a former run staged), convert, write the report; the report."""
    staging = ledger.staging
    for folder in ('json', 'original_files'):
        (staging / folder).mkdir(parents=True, exist_ok=True)
    report = ExportReport(
        target=settings.target, output_format=settings.output_format, output=str(settings.output), count=count
    )
    staged: dict[int, str] = {}
    stage = StageSettings(settings.max_file_bytes, settings.concurrency)
    report.items.extend(stage_items(client, items, count, ledger, stage, staged, on_item=on_item))
    _prune(staging, set(staged.values()))
    conversion = _convert(staging, settings, on_convert) if staged else None
    if conversion is not None:
        _apply_skips(report, conversion, staged)
        report.conversion = {
            'items_written': conversion.items_written,
            'annotations_written': conversion.annotations_written,
            'annotations_skipped': dict(conversion.annotations_skipped),
            'classes': dict(conversion.classes),
        }
    else:
        settings.output.mkdir(parents=True, exist_ok=True)
    report.write(settings.output)
    if not any(outcome.outcome == 'failed' for outcome in report.items):
        shutil.rmtree(staging, ignore_errors=True)
        ledger.path.unlink(missing_ok=True)
    return report


def _apply_skips(report: ExportReport, conversion: Any, staged: dict[int, str]) -> None:
    """Items the converter left out become ``skipped`` with its reason."""
    by_stem = {stem: item for item, stem in staged.items()}
    reasons = {}
    for skipped in conversion.items_skipped:
        item = by_stem.get(PurePosixPath(str(skipped.item)).stem)
        if item is not None:
            reasons[item] = f'{skipped.reason.value}: {skipped.detail}' if skipped.detail else skipped.reason.value
    for outcome in report.items:
        if outcome.item in reasons:
            outcome.outcome, outcome.reason = 'skipped', f'converter: {reasons[outcome.item]}'
