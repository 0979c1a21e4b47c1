"""The per-item export report: ``export_report.json`` and ``export_report.csv`` (item, file, outcome, reason)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ['REPORT_CSV', 'REPORT_JSON', 'ExportReport', 'ItemOutcome', 'Outcome']

REPORT_JSON = 'export_report.json'
REPORT_CSV = 'export_report.csv'

#: ``exported``: in the output; ``resumed``: staged by an earlier run, in the output, not fetched again;
#: ``skipped``: left out (no media, unreadable annotations, or dropped by the converter); ``failed``: an error.
Outcome = Literal['exported', 'resumed', 'skipped', 'failed']


class ItemOutcome(BaseModel):
    item: int
    file: str = ''
    outcome: Outcome
    reason: str = ''


class ExportReport(BaseModel):
    """What one export run did with every item it was given."""

    target: str
    output_format: str
    output: str
    count: int = 0  #: items the source listed
    items: list[ItemOutcome] = Field(default_factory=list)
    conversion: dict[str, object] = Field(default_factory=dict)  #: the converter's summary

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(outcome.outcome for outcome in self.items))

    @property
    def written(self) -> int:
        """Items in the output (exported now or by an earlier run)."""
        return sum(1 for outcome in self.items if outcome.outcome in ('exported', 'resumed'))

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the JSON and CSV reports into ``folder``; their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        json_path, csv_path = folder / REPORT_JSON, folder / REPORT_CSV
        body = {**self.model_dump(mode='json'), 'counts': self.counts}
        json_path.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding='utf-8')
        with csv_path.open('w', newline='', encoding='utf-8') as handle:
            writer = csv.writer(handle)
            writer.writerow(['item', 'file', 'outcome', 'reason'])
            for outcome in self.items:
                writer.writerow([outcome.item, outcome.file, outcome.outcome, outcome.reason])
        return json_path, csv_path
