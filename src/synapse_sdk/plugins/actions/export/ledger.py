"""The export's resume cursor: which items an export already staged, so a re-run continues where it stopped.

One JSON-lines file per export key (backend identity, target, filters, format, output folder) under
``<state dir>/export/``. An item's media and DM v2 JSON are written into the export's staging folder
first, then a ``done`` line is appended; a failure appends ``failed`` with the reason. A re-run reads the
ledger and skips every ``done`` item whose staged files are still there, so nothing already exported is
downloaded again; failed items are tried again. A torn last line (a kill mid-write) is cut off on open.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ['ExportLedger', 'LedgerEntry', 'export_key', 'state_dir']


def state_dir() -> Path:
    """``SYNAPSE_STATE_DIR``, default ``~/.synapse/state`` (as ToTask's ledger)."""
    return Path(os.environ.get('SYNAPSE_STATE_DIR') or Path.home() / '.synapse' / 'state')


def export_key(backend: str, target: str, filters: dict[str, Any], output_format: str, output: str) -> str:
    """The export's identity: which backend, what it reads and where it writes what format."""
    text = json.dumps([backend, target, filters, output_format, os.path.abspath(output)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    item: int
    status: str  #: ``done`` or ``failed``
    file: str = ''
    reason: str = ''


@dataclass
class ExportLedger:
    """Append-only record of an export's staged items."""

    path: Path
    done: dict[int, LedgerEntry] = field(default_factory=dict)
    failed: dict[int, LedgerEntry] = field(default_factory=dict)

    @classmethod
    def for_key(cls, key: str) -> ExportLedger:
        ledger = cls(state_dir() / 'export' / f'{key}.jsonl')
        ledger.load()
        return ledger

    @property
    def staging(self) -> Path:
        """Where this export's items are staged as a DM v2 folder (``json/``, ``original_files/``)."""
        return self.path.with_suffix('.staging')

    def load(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b'\n'):  # a kill mid-write: cut the torn line
            raw = raw[: raw.rfind(b'\n') + 1]
            self.path.write_bytes(raw)
        for line in raw.decode('utf-8', errors='replace').splitlines():
            try:
                record = json.loads(line)
                entry = LedgerEntry(
                    int(record['i']), str(record['s']), str(record.get('f', '')), str(record.get('r', ''))
                )
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours
            if entry.status == 'done':
                self.done[entry.item] = entry
                self.failed.pop(entry.item, None)
            elif entry.status == 'failed':
                self.failed[entry.item] = entry

    def record(self, entry: LedgerEntry) -> None:
        """Append ``entry`` (one ``write`` of a whole line to an ``O_APPEND`` file, flushed to the OS)."""
        line = json.dumps(
            {'i': entry.item, 's': entry.status, 'f': entry.file, 'r': entry.reason}, separators=(',', ':')
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + '\n').encode('utf-8'))
        finally:
            os.close(fd)
        if entry.status == 'done':
            self.done[entry.item] = entry
            self.failed.pop(entry.item, None)
        else:
            self.failed[entry.item] = entry

    def is_done(self, item: int) -> bool:
        """Whether ``item`` was staged by an earlier run and its staged JSON is still there."""
        entry = self.done.get(item)
        return entry is not None and (self.staging / 'json' / f'{entry.file}.json').is_file()
