"""``synapse local import`` / ``export``: a folder of files ⇄ a project's data units and tasks."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from synapse_sdk.local.db import Database
from synapse_sdk.local.models import DataCollection, DataUnit, Project, Task
from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.setup import open_database
from synapse_sdk.local.storage import remove_stored, store_file

__all__ = ['ExportResult', 'ImportResult', 'export_names', 'export_project', 'import_folder', 'parse_specs']

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class ImportResult:
    project_id: int
    created: int  #: new data units (one task each)
    skipped: int  #: stems already imported
    incomplete: list[str]  #: stems missing a file of some specification (imported with what exists)


@dataclass(frozen=True)
class ExportResult:
    written: int
    folder: Path


def parse_specs(specs: Sequence[str]) -> dict[str, str]:
    """``['image=*.jpg', 'annotation_data=*.json']`` → ``{name: glob}`` (the first is primary)."""
    out: dict[str, str] = {}
    for raw in specs:
        name, sep, pattern = raw.partition('=')
        if not sep or not name.strip() or not pattern.strip():
            raise ValueError(f"Invalid --spec '{raw}': expected NAME=GLOB, e.g. image=*.jpg")
        if name.strip() in out:
            raise ValueError(f"Invalid --spec '{raw}': specification '{name.strip()}' given twice")
        out[name.strip()] = pattern.strip()
    if not out:
        raise ValueError('At least one --spec NAME=GLOB is required, e.g. --spec image=*.jpg')
    return out


def group_by_stem(folder: Path, specs: dict[str, str]) -> dict[str, dict[str, Path]]:
    units: dict[str, dict[str, Path]] = {}
    for name, pattern in specs.items():
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                units.setdefault(path.stem, {})[name] = path
    return dict(sorted(units.items()))


def _project_and_collection(db: Database, name: str, specs: dict[str, str]) -> tuple[int, int]:
    with db.write() as session:
        project = session.scalar(select(Project).where(Project.name == name))
        collection = (
            session.get(DataCollection, project.data_collection_id) if project and project.data_collection_id else None
        )
        if collection is None:
            collection = DataCollection(name=name, file_specifications=[])
            session.add(collection)
            session.flush()
        known = {spec['name'] for spec in collection.file_specifications}
        primary = next(iter(specs))
        added = [
            {'name': spec, 'is_primary': spec == primary and not known, 'is_required': False}
            for spec in specs
            if spec not in known
        ]
        if added:
            collection.file_specifications = [*collection.file_specifications, *added]
        if project is None:
            project = Project(name=name, data_collection_id=collection.id)
            session.add(project)
        project.data_collection_id = collection.id
        session.flush()
        return project.id, collection.id


def _import_unit(
    db: Database, paths: LocalPaths, ids: tuple[int, int], stem: str, files: dict[str, Path], primary: str
) -> bool:
    project_id, collection_id = ids
    stored: list[str] = []
    try:
        with db.write() as session:
            taken = select(DataUnit.id).where(DataUnit.data_collection_id == collection_id, DataUnit.key == stem)
            if session.scalar(taken) is not None:
                return False
            entries = {}
            for spec, path in files.items():
                with open(path, 'rb') as source:
                    row = store_file(session, paths, source, path.name, stored)
                entries[spec] = {'file': row.id, 'is_primary': spec == primary}
            unit = DataUnit(data_collection_id=collection_id, key=stem, files=entries)
            session.add(unit)
            session.flush()
            session.add(Task(project_id=project_id, data_unit_id=unit.id))
        return True
    except BaseException:
        for rel in stored:  # the transaction rolled back: drop the files it would have referenced
            remove_stored(paths, rel)
        raise


def import_folder(
    folder: str | os.PathLike[str],
    project: str,
    specs: Sequence[str],
    *,
    state_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """One data unit per file stem, one task per data unit; stems imported before are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f'Import folder not found: {root}')
    spec_map = parse_specs(specs)
    units = group_by_stem(root, spec_map)
    if not units:
        patterns = ', '.join(spec_map.values())
        raise ValueError(f'No files in {root} match any --spec pattern ({patterns})')
    paths = LocalPaths.resolve(state_dir)
    db = open_database(paths)
    try:
        ids = _project_and_collection(db, project, spec_map)
        created = 0
        primary = next(iter(spec_map))
        for index, (stem, files) in enumerate(units.items(), 1):
            created += _import_unit(db, paths, ids, stem, files, primary)
            if progress:
                progress(index, len(units))
    finally:
        db.dispose()
    incomplete = [stem for stem, files in units.items() if len(files) < len(spec_map)]
    return ImportResult(ids[0], created, len(units) - created, incomplete)


def _safe_stem(key: str) -> str:
    """A data unit key as a file name: path separators and NUL become ``_``."""
    stem = re.sub(r'[/\\\x00]', '_', key)
    return stem if stem not in ('', '.', '..') else f'_{stem}'


def export_names(rows: Sequence[tuple[int, str | None]]) -> list[str]:
    """One distinct file name per ``(task id, data unit key)``, in order.

    ``<key>.json`` for the first task of a data unit (``task-<id>.json`` without one); a later task of
    the same data unit gets ``<key>-task<id>.json``. Names are compared case-insensitively, so no
    two tasks share a file on case-insensitive file systems either.
    """
    used: set[str] = set()
    names = []
    for task_id, key in rows:
        stem = _safe_stem(key) if key else f'task-{task_id}'
        candidates = [f'{stem}.json', f'{stem}-task{task_id}.json']
        name = next((c for c in candidates if c.casefold() not in used), None)
        suffix = 2
        while name is None or name.casefold() in used:  # a key that itself reads '<key>-task<id>'
            name = f'{stem}-task{task_id}-{suffix}.json'
            suffix += 1
        used.add(name.casefold())
        names.append(name)
    return names


def export_project(
    project: str,
    folder: str | os.PathLike[str],
    *,
    state_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write each task's data to its own file in ``folder`` (atomically); no task's file overwrites another's.

    File names come from :func:`export_names`; tasks are taken in id order, so exporting again into
    the same folder rewrites the same files.
    """
    out = Path(folder)
    paths = LocalPaths.resolve(state_dir)
    db = open_database(paths)
    try:
        with db.read() as session:
            proj = session.scalar(select(Project).where(Project.name == project))
            if proj is None:
                existing = ', '.join(session.scalars(select(Project.name).order_by(Project.id).limit(20))) or 'none'
                raise ValueError(f"Project '{project}' not found; existing projects: {existing}")
            rows = session.execute(
                select(Task.id, Task.data, DataUnit.key)
                .outerjoin(DataUnit, DataUnit.id == Task.data_unit_id)
                .where(Task.project_id == proj.id)
                .order_by(Task.id)
            ).all()
    finally:
        db.dispose()
    out.mkdir(parents=True, exist_ok=True)
    names = export_names([(task_id, key) for task_id, _data, key in rows])
    for index, ((_task_id, data, _key), name) in enumerate(zip(rows, names, strict=True), 1):
        target = out / name
        tmp = target.with_name(f'.{target.name}.tmp')
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + '\n')
        os.replace(tmp, target)
        if progress:
            progress(index, len(rows))
    return ExportResult(len(rows), out)
