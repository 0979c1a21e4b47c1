"""Data units with their files inlined, read with Core selects (the hot path of task listings)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from synapse_sdk.local.filters import in_values
from synapse_sdk.local.models import DataFile, DataUnit
from synapse_sdk.local.serializers import data_unit_out
from synapse_sdk.local.storage import FileLinks

__all__ = ['FILE_COLUMNS', 'UNIT_COLUMNS', 'expand_units', 'load_files', 'units_out']

#: What :func:`data_unit_out` reads from a unit row.
UNIT_COLUMNS = (
    DataUnit.id,
    DataUnit.data_collection_id,
    DataUnit.key,
    DataUnit.files,
    DataUnit.meta,
    DataUnit.created_at,
)
#: What :func:`data_file_out` reads from a file row.
FILE_COLUMNS = (
    DataFile.id,
    DataFile.file_name_original,
    DataFile.size,
    DataFile.checksum,
    DataFile.content_type,
    DataFile.external_url,
)

Reader = Session | Connection


def load_files(conn: Reader, units: Iterable[Any]) -> dict[int, Any]:
    """The file rows the units refer to, by id."""
    ids = {entry['file'] for unit in units for entry in unit.files.values()}
    if not ids:
        return {}
    return {row.id: row for row in conn.execute(select(*FILE_COLUMNS).where(in_values(DataFile.id, sorted(ids)))).all()}


def units_out(conn: Reader, units: Sequence[Any], links: FileLinks) -> dict[int, dict[str, Any]]:
    """Unit rows (ORM objects or Core rows) → ``{id: {id, data_collection, key, files: {...}, ...}}``."""
    files = load_files(conn, units)
    return {unit.id: data_unit_out(unit, files, links) for unit in units}


def expand_units(conn: Reader, unit_ids: Collection[int], links: FileLinks) -> dict[int, dict[str, Any]]:
    """The serialized units of these ids, for ``expand=data_unit``."""
    if not unit_ids:
        return {}
    rows = conn.execute(select(*UNIT_COLUMNS).where(in_values(DataUnit.id, sorted(unit_ids)))).all()
    return units_out(conn, list(rows), links)
