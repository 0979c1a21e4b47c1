"""The run record: what a ToTask run proposed or wrote, per task, so it can be reviewed, committed and undone.

One SQLite file per run, ``<state dir>/runs/<run id>/record.sqlite`` (WAL; the review page and the CLI
may read it while a run writes it). Per task it keeps:

- the task's data when the run read it (``current``) and what the run proposes (``proposed``), each
  with its hash, the primary image (URL, file name) and a summary of the change (:mod:`.summary`);
- the reviewer's ``decision`` (``pending``, ``approved``, ``rejected``);
- for every real write (a normal run, or a commit of a dry run): the data the task held just before
  (``prior``, recorded before the PUT is sent) and the hash of what was written, so ``undo`` restores
  exactly the tasks this run wrote that nobody changed since;
- the last ``conflict`` met by a commit or an undo (the task changed underneath), never overwritten.

A run id is ``<UTC yyyymmdd-HHMMSS>-<6 hex>``; :func:`open_run` accepts a unique prefix of one.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from synapse_sdk.exceptions import SynapseError
from synapse_sdk.plugins.actions.to_task.ledger import data_hash, state_dir

__all__ = [
    'Decision',
    'RunMeta',
    'RunNotFoundError',
    'RunRecord',
    'TaskEntry',
    'list_runs',
    'open_run',
    'runs_dir',
]

Decision = Literal['pending', 'approved', 'rejected']
DECISIONS: tuple[str, ...] = ('pending', 'approved', 'rejected')
RECORD_FILE = 'record.sqlite'

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    task_id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    image TEXT,
    current TEXT,
    current_hash TEXT,
    proposed TEXT,
    proposed_hash TEXT,
    summary TEXT,
    decision TEXT NOT NULL DEFAULT 'pending',
    prior TEXT,
    prior_hash TEXT,
    written_hash TEXT,
    written_at TEXT,
    undone_at TEXT,
    conflict TEXT,
    error TEXT
);
"""


class RunNotFoundError(SynapseError):
    """No run record of that id (or the prefix names several)."""


class RunMeta(BaseModel):
    """What the run was: kept with its record."""

    run_id: str
    created_at: str
    dry_run: bool
    project: int
    method: str
    schema_name: str | None = None  #: ``any`` when the run skipped the schema check of writes
    job_name: str = ''
    backend: str = ''  #: the backend's identity (its instance id when it has one, else its URL)
    backend_url: str = ''
    sample: int | None = None
    sample_seed: int | None = None
    status: str = 'running'  #: running, finished, failed
    finished_at: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)


class TaskEntry(BaseModel):
    """One task of a run, as the record holds it."""

    task_id: int
    position: int
    image: dict[str, Any] | None = None  #: ``{'url', 'name'}`` of the primary file
    current: Any = None
    current_hash: str | None = None
    proposed: Any = None
    proposed_hash: str | None = None
    summary: dict[str, Any] | None = None
    decision: Decision = 'pending'
    prior: Any = None
    prior_hash: str | None = None
    written_hash: str | None = None
    written_at: str | None = None
    undone_at: str | None = None
    conflict: str | None = None
    error: str | None = None  #: why the run could not propose or write it


def runs_dir() -> Path:
    """``<state dir>/runs``: one folder per run."""
    return state_dir() / 'runs'


def new_run_id() -> str:
    return f'{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}'


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec='seconds')


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(',', ':'), default=str)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class RunRecord:
    """A run's record (thread-safe: one connection, one lock)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / RECORD_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=NORMAL')
        self._db.executescript(_SCHEMA)
        self._position = self._db.execute('SELECT COALESCE(MAX(position), -1) + 1 FROM tasks').fetchone()[0]

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, meta: RunMeta) -> RunRecord:
        folder = runs_dir() / meta.run_id
        folder.mkdir(parents=True, exist_ok=False, mode=0o700)
        record = cls(folder)
        record.save_meta(meta)
        return record

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def run_id(self) -> str:
        return self.folder.name

    # ------------------------------------------------------------------ meta
    def save_meta(self, meta: RunMeta) -> None:
        with self._lock, self._db:
            self._db.execute(
                'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
                ('run', meta.model_dump_json()),
            )

    def meta(self) -> RunMeta:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'run'").fetchone()
        if row is None:
            raise RunNotFoundError(f'Run record {self.path} has no metadata (not a ToTask run record)')
        return RunMeta.model_validate_json(row[0])

    def finish(self, status: str, counts: dict[str, int]) -> RunMeta:
        meta = self.meta().model_copy(update={'status': status, 'finished_at': _now(), 'counts': counts})
        self.save_meta(meta)
        return meta

    # ------------------------------------------------------------------ what runs record
    def plan(self, task_ids: Iterable[int]) -> None:
        """The run's tasks in its order (entries are listed in this order, whenever each one finishes)."""
        with self._lock, self._db:
            start = self._position
            rows = [(int(t), start + i) for i, t in enumerate(task_ids)]
            self._db.executemany('INSERT OR IGNORE INTO tasks (task_id, position) VALUES (?, ?)', rows)
            self._position = start + len(rows)

    def failed(self, task_id: int, error: str) -> None:
        self._upsert(task_id, error=error)

    def propose(
        self, task_id: int, current: Any, proposed: Any, image: dict[str, Any] | None, summary: dict[str, Any]
    ) -> None:
        """A dry run's proposal for a task (a second proposal for the same task replaces the first)."""
        self._upsert(
            task_id,
            image=_dump(image),
            current=_dump(current),
            current_hash=data_hash(current),
            proposed=_dump(proposed),
            proposed_hash=data_hash(proposed),
            summary=_dump(summary),
            error=None,
        )

    def before_write(self, task_id: int, prior: Any, proposed: Any, image: dict[str, Any] | None = None) -> None:
        """The task's data just before this run writes ``proposed`` over it (committed before the PUT)."""
        fields: dict[str, Any] = {
            'prior': _dump(prior),
            'prior_hash': data_hash(prior),
            'proposed': _dump(proposed),
            'proposed_hash': data_hash(proposed),
        }
        if image is not None:
            fields['image'] = _dump(image)
        with self._lock, self._db:
            row = self._db.execute('SELECT current_hash FROM tasks WHERE task_id = ?', (task_id,)).fetchone()
            if row is None or row[0] is None:
                fields.update(current=_dump(prior), current_hash=data_hash(prior))
            self._upsert_locked(task_id, **fields)

    def written(self, task_id: int, digest: str) -> None:
        self._upsert(task_id, written_hash=digest, written_at=_now(), undone_at=None, conflict=None, error=None)

    def undone(self, task_id: int) -> None:
        self._upsert(task_id, undone_at=_now(), conflict=None)

    def conflict(self, task_id: int, reason: str) -> None:
        self._upsert(task_id, conflict=reason)

    def decide(self, task_ids: Iterable[int], decision: Decision) -> int:
        """Set the decision of these tasks; returns how many tasks of this run it changed."""
        if decision not in DECISIONS:
            raise ValueError(f'decision must be one of {", ".join(DECISIONS)}, not {decision!r}')
        ids = [int(t) for t in task_ids]
        with self._lock, self._db:
            before = self._db.total_changes
            self._db.executemany('UPDATE tasks SET decision = ? WHERE task_id = ?', [(decision, t) for t in ids])
            return self._db.total_changes - before

    # ------------------------------------------------------------------ reading
    def entries(self, *, decision: Decision | None = None, written: bool | None = None) -> Iterator[TaskEntry]:
        query, args = 'SELECT * FROM tasks', []
        where = []
        if decision is not None:
            where.append('decision = ?')
            args.append(decision)
        if written is True:
            where.append('written_hash IS NOT NULL AND undone_at IS NULL')
        if where:
            query += ' WHERE ' + ' AND '.join(where)
        with self._lock:
            cursor = self._db.execute(query + ' ORDER BY position', args)
            names = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            yield _entry(dict(zip(names, row, strict=True)))

    def entry(self, task_id: int) -> TaskEntry | None:
        with self._lock:
            cursor = self._db.execute('SELECT * FROM tasks WHERE task_id = ?', (task_id,))
            names = [c[0] for c in cursor.description]
            row = cursor.fetchone()
        return None if row is None else _entry(dict(zip(names, row, strict=True)))

    def counts(self) -> dict[str, int]:
        """Tasks by decision, plus ``written``, ``undone`` and ``conflicts``."""
        with self._lock:
            rows = self._db.execute('SELECT decision, COUNT(*) FROM tasks GROUP BY decision').fetchall()
            extra = self._db.execute(
                'SELECT COUNT(*), SUM(written_hash IS NOT NULL AND undone_at IS NULL), SUM(undone_at IS NOT NULL), '
                'SUM(conflict IS NOT NULL) FROM tasks'
            ).fetchone()
        counts = dict.fromkeys(DECISIONS, 0) | {str(d): int(n) for d, n in rows}
        counts.update(tasks=int(extra[0] or 0), written=int(extra[1] or 0), undone=int(extra[2] or 0))
        counts['conflicts'] = int(extra[3] or 0)
        return counts

    # ------------------------------------------------------------------ internals
    def _upsert(self, task_id: int, **fields: Any) -> None:
        with self._lock, self._db:
            self._upsert_locked(task_id, **fields)

    def _upsert_locked(self, task_id: int, **fields: Any) -> None:
        names = list(fields)
        updates = ', '.join(f'{n} = excluded.{n}' for n in names)
        self._db.execute(
            f'INSERT INTO tasks (task_id, position, {", ".join(names)}) VALUES (?, ?, {", ".join("?" * len(names))}) '
            f'ON CONFLICT(task_id) DO UPDATE SET {updates}',
            (task_id, self._position, *fields.values()),
        )
        self._position += 1  # used only when the task was not planned


def _entry(row: dict[str, Any]) -> TaskEntry:
    for key in ('image', 'current', 'proposed', 'summary', 'prior'):
        row[key] = _load(row[key])
    return TaskEntry.model_validate(row)


def list_runs() -> list[RunMeta]:
    """Every run record of this state folder, newest first."""
    folder = runs_dir()
    metas = []
    for child in sorted(folder.iterdir(), reverse=True) if folder.is_dir() else ():
        if (child / RECORD_FILE).is_file():
            try:
                with RunRecord(child) as record:
                    metas.append(record.meta())
            except (sqlite3.Error, RunNotFoundError, ValueError):
                continue
    return metas


def open_run(run_id: str) -> RunRecord:
    """The record of ``run_id`` (or of the one run whose id starts with it)."""
    folder = runs_dir()
    if not run_id or os.sep in run_id or run_id.startswith('.'):
        raise RunNotFoundError(f'{run_id!r} is not a run id; `synapse review list` shows the runs of {folder}')
    exact = folder / run_id
    if (exact / RECORD_FILE).is_file():
        return RunRecord(exact)
    matches = sorted(p for p in folder.glob(f'{run_id}*') if (p / RECORD_FILE).is_file()) if folder.is_dir() else []
    if len(matches) == 1:
        return RunRecord(matches[0])
    if matches:
        names = ', '.join(p.name for p in matches[:5])
        raise RunNotFoundError(f'Run id {run_id!r} is ambiguous ({names}); give more of it')
    raise RunNotFoundError(f'No run {run_id!r} in {folder}; `synapse review list` shows the runs there')
