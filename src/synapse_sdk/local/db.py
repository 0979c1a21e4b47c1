"""The SQLite engine (WAL mode) and transaction helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ['Database']


class Database:
    """One SQLite file. Reads run in deferred transactions, writes in ``BEGIN IMMEDIATE`` ones.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue on ``busy_timeout``
    instead of one failing with "database is locked" when it upgrades a read snapshot.
    """

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = path
        self.engine: Engine = create_engine(
            f'sqlite:///{path}',
            connect_args={'check_same_thread': False, 'timeout': busy_timeout_ms / 1000},
            pool_size=8,
            max_overflow=32,
        )
        event.listen(self.engine, 'connect', _on_connect)
        event.listen(self.engine, 'begin', _on_begin)
        self._writer = self.engine.execution_options(sqlite_begin='IMMEDIATE')
        self._read_factory = sessionmaker(self.engine, expire_on_commit=False)
        self._write_factory = sessionmaker(self._writer, expire_on_commit=False)
        # One writer at a time inside this process; other processes queue on busy_timeout.
        self._write_lock = threading.Lock()

    def create_schema(self) -> None:
        from synapse_sdk.local.models import Base

        Base.metadata.create_all(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; its transaction is rolled back on exit."""
        with self._read_factory() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed together on success, or not at all."""
        with self._write_lock, self._write_factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
    cursor = dbapi_conn.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


def _on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get('sqlite_begin', 'DEFERRED')
    conn.exec_driver_sql(f'BEGIN {mode}')
