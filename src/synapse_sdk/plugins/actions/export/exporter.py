"""Export items into a dataset folder: stage each as DM v2 (media + JSON), then convert with our converters.

Staging is resumable (:mod:`.ledger`): an item is downloaded and written once; a run that stops (the
backend gone, a kill) leaves its staged items and their ``done`` lines, and the next run with the same
export key downloads only the rest. When every item is accounted for, the staged DM v2 folder is
converted into the output (COCO / YOLO / Pascal VOC / DM), the per-item report is written beside it,
and the staging and ledger are removed (unless items failed: then they are kept for a retry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from synapse_sdk.exceptions import ClientError, NotFoundError, ResponseTooLargeError
from synapse_sdk.plugins.actions.export.items import ExportItem, UnreadableAnnotations, primary_file, to_dm_v2
from synapse_sdk.plugins.actions.export.ledger import ExportLedger, LedgerEntry
from synapse_sdk.plugins.actions.export.report import ExportReport, ItemOutcome

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
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')

Progress = Callable[[int, int], None]


class ExportInterrupted(RuntimeError):
    """The export stopped before every item was staged; running it again resumes after the staged ones."""


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


def _stem(item: ExportItem, entry: dict[str, Any]) -> tuple[str, str]:
    """``(stem, suffix)`` of an item's staged files: ``<id>_<original stem>`` keeps names unique and readable."""
    name = PurePosixPath(str(entry.get('file_name_original') or entry.get('name') or f'item{item.id}.jpg')).name
    stem, suffix = os.path.splitext(name)
    return f'{item.id}_{_UNSAFE.sub("_", stem)[:80] or "item"}', (suffix.lower() or '.jpg')


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + '.part')
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _stage(client: Any, item: ExportItem, staging: Path, settings: ExportSettings) -> str:
    """Download the item's media and write its DM v2 JSON; the staged stem. JSON last: it marks the item whole."""
    document = to_dm_v2(item.data)
    primary = primary_file(item.files)
    if primary is None:
        raise UnreadableAnnotations('files: the item has no media file with a URL to export')
    stem, suffix = _stem(item, primary[1])
    content = client.download_file(primary[1]['url'], max_bytes=settings.max_file_bytes)
    _write_atomic(staging / 'original_files' / f'{stem}{suffix}', content)
    _write_atomic(staging / 'json' / f'{stem}.json', json.dumps(document, ensure_ascii=False).encode('utf-8'))
    return stem


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
    for done, item in enumerate(_listing(items, ledger), 1):
        if ledger.is_done(item.id):
            staged[item.id] = ledger.done[item.id].file
            report.items.append(ItemOutcome(item=item.id, file=staged[item.id], outcome='resumed'))
        else:
            report.items.append(_export_one(client, item, staging, ledger, settings, staged, done))
        if on_item is not None and count:
            on_item(min(done, count), count)
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


def _listing(items: Iterable[ExportItem], ledger: ExportLedger) -> Iterator[ExportItem]:
    """The items, a page that cannot be read (the backend gone) raised as :class:`ExportInterrupted`."""
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except ClientError as exc:
            raise ExportInterrupted(
                f'Export stopped while listing items: {exc}. {len(ledger.done)} items are staged; run the same '
                'export again to resume after them (they are not downloaded again)'
            ) from exc
        yield item


def _export_one(
    client: Any,
    item: ExportItem,
    staging: Path,
    ledger: ExportLedger,
    settings: ExportSettings,
    staged: dict[int, str],
    position: int,
) -> ItemOutcome:
    try:
        stem = _stage(client, item, staging, settings)
    except UnreadableAnnotations as exc:
        return ItemOutcome(item=item.id, outcome='skipped', reason=str(exc))
    except (NotFoundError, ResponseTooLargeError) as exc:
        ledger.record(LedgerEntry(item.id, 'failed', reason=str(exc)))
        return ItemOutcome(item=item.id, outcome='failed', reason=f'media download: {exc}')
    except (ClientError, OSError) as exc:
        raise ExportInterrupted(
            f'Export stopped at item {item.id} (#{position}): {exc}. {len(ledger.done)} items are staged; run the '
            'same export again to resume after them (they are not downloaded again)'
        ) from exc
    ledger.record(LedgerEntry(item.id, 'done', file=stem))
    staged[item.id] = stem
    return ItemOutcome(item=item.id, file=stem, outcome='exported')


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
