"""Stage export items as DM v2 (media + JSON), ``concurrency`` downloads at a time, in listing order.

Downloads run on a thread pool; what each one gives is settled here, on the caller's thread, in the order
of the listing: the ledger's ``done`` line, the item's outcome, the progress. At most ``2 x concurrency``
items are listed ahead of the first unsettled one, so memory stays bounded for any listing. A download that
cannot go on (the backend gone, a disk error) stops the export: nothing more is started, the downloads in
flight are let finish and settled (their items are staged and not fetched again on the next run), then
:class:`ExportInterrupted` says how many items are staged.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from synapse_sdk.exceptions import ClientError, NotFoundError, ResponseTooLargeError
from synapse_sdk.plugins.actions.export.items import ExportItem, UnreadableAnnotations, primary_file, to_dm_v2
from synapse_sdk.plugins.actions.export.ledger import ExportLedger, LedgerEntry
from synapse_sdk.plugins.actions.export.report import ItemOutcome

__all__ = ['DEFAULT_CONCURRENCY', 'ExportInterrupted', 'StageSettings', 'stage_items']

DEFAULT_CONCURRENCY = 8  #: downloads in flight at once, unless told otherwise
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')
_RESUME = 'run the same export again to resume after them (they are not downloaded again)'

Progress = Callable[[int, int], None]


class ExportInterrupted(RuntimeError):
    """The export stopped before every item was staged; running it again resumes after the staged ones."""


@dataclass(frozen=True)
class StageSettings:
    max_file_bytes: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY


def _stem(item: ExportItem, entry: dict[str, Any]) -> tuple[str, str]:
    """``(stem, suffix)`` of an item's staged files: ``<id>_<original stem>`` keeps names unique and readable."""
    name = PurePosixPath(str(entry.get('file_name_original') or entry.get('name') or f'item{item.id}.jpg')).name
    stem, suffix = os.path.splitext(name)
    return f'{item.id}_{_UNSAFE.sub("_", stem)[:80] or "item"}', (suffix.lower() or '.jpg')


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + '.part')
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _stage(client: Any, item: ExportItem, staging: Path, max_file_bytes: int | None) -> str:
    """Download the item's media and write its DM v2 JSON; the staged stem. JSON last: it marks the item whole."""
    document = to_dm_v2(item.data)
    primary = primary_file(item.files)
    if primary is None:
        raise UnreadableAnnotations('files: the item has no media file with a URL to export')
    stem, suffix = _stem(item, primary[1])
    content = client.download_file(primary[1]['url'], max_bytes=max_file_bytes)
    _write_atomic(staging / 'original_files' / f'{stem}{suffix}', content)
    _write_atomic(staging / 'json' / f'{stem}.json', json.dumps(document, ensure_ascii=False).encode('utf-8'))
    return stem


@dataclass
class _Slot:
    """One listed item: staged by a former run (no future) or being downloaded."""

    position: int
    item: ExportItem
    future: Future[str] | None


def stage_items(
    client: Any,
    items: Iterable[ExportItem],
    count: int,
    ledger: ExportLedger,
    settings: StageSettings,
    staged: dict[int, str],
    *,
    on_item: Progress | None = None,
) -> list[ItemOutcome]:
    """Stage every item a former run did not; the outcomes in listing order (``staged``: id → stem, filled)."""
    stager = _Stager(ledger, staged, count, on_item)
    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix='synapse-export') as pool:
        listed = False
        try:
            for position, item in enumerate(_listing(items), 1):
                future = None
                if not ledger.is_done(item.id):
                    future = pool.submit(_stage, client, item, ledger.staging, settings.max_file_bytes)
                stager.window.append(_Slot(position, item, future))
                stager.settle_ready(2 * settings.concurrency)
                if stager.stop is not None:
                    break
            else:
                listed = True
        except _ListingCut as cut:
            stager.stop = (None, cut.error)
        finally:  # also on a Ctrl-C: what was downloaded is settled and kept
            stager.drain(cancel=not listed)
    if stager.stop is not None:
        where, error = stager.stop
        at = 'while listing items' if where is None else f'at item {where.item.id} (#{where.position})'
        raise ExportInterrupted(
            f'Export stopped {at}: {error}. {len(ledger.done)} items are staged; {_RESUME}'
        ) from error
    return stager.outcomes


class _Stager:
    """The listed items not settled yet (in listing order), and what settling them gave."""

    def __init__(self, ledger: ExportLedger, staged: dict[int, str], count: int, on_item: Progress | None) -> None:
        self.ledger, self.staged, self.count, self.on_item = ledger, staged, count, on_item
        self.window: deque[_Slot] = deque()
        self.outcomes: list[ItemOutcome] = []
        self.stop: tuple[_Slot | None, BaseException] | None = None  #: where and why the export stopped

    def settle_ready(self, ahead: int) -> None:
        """Settle the first slots while they are done, or while more than ``ahead`` are listed (waiting)."""
        while self.window and (len(self.window) > ahead or _ready(self.window[0])):
            self._settle(self.window.popleft())

    def drain(self, *, cancel: bool) -> None:
        """Settle every slot left; with ``cancel``, downloads not started yet are dropped (listed again later)."""
        while self.window:
            slot = self.window.popleft()
            if cancel and slot.future is not None and slot.future.cancel():
                continue
            self._settle(slot)

    def _settle(self, slot: _Slot) -> None:
        outcome, error = _settle(slot, self.ledger, self.staged)
        if error is not None and self.stop is None:
            self.stop = (slot, error)
        if outcome is not None:
            self.outcomes.append(outcome)
        if self.on_item is not None and self.count:
            self.on_item(min(len(self.outcomes), self.count), self.count)


def _ready(slot: _Slot) -> bool:
    return slot.future is None or slot.future.done()


def _settle(
    slot: _Slot, ledger: ExportLedger, staged: dict[int, str]
) -> tuple[ItemOutcome | None, BaseException | None]:
    """The outcome of one slot (waiting for its download), or the error that stops the export."""
    item = slot.item
    if slot.future is None:
        staged[item.id] = ledger.done[item.id].file
        return ItemOutcome(item=item.id, file=staged[item.id], outcome='resumed'), None
    try:
        stem = slot.future.result()
    except UnreadableAnnotations as exc:
        return ItemOutcome(item=item.id, outcome='skipped', reason=str(exc)), None
    except (NotFoundError, ResponseTooLargeError) as exc:
        ledger.record(LedgerEntry(item.id, 'failed', reason=str(exc)))
        return ItemOutcome(item=item.id, outcome='failed', reason=f'media download: {exc}'), None
    except (ClientError, OSError) as exc:
        return None, exc
    ledger.record(LedgerEntry(item.id, 'done', file=stem))
    staged[item.id] = stem
    return ItemOutcome(item=item.id, file=stem, outcome='exported'), None


class _ListingCut(Exception):
    def __init__(self, error: ClientError) -> None:
        super().__init__(str(error))
        self.error = error


def _listing(items: Iterable[ExportItem]) -> Iterator[ExportItem]:
    """The items; a page that cannot be read (the backend gone) raised as :class:`_ListingCut`."""
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except ClientError as exc:
            raise _ListingCut(exc) from exc
        yield item
