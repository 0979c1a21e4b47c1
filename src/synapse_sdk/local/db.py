"""The SQLite engine (WAL mode) and transaction helpers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ['BUSY', 'Database']

T = TypeVar('T')


class _Busy(Enum):
    """What :meth:`Database.write_now` answers when it would have to wait for the write lock.

    A one-member enum, so that ``result is BUSY`` narrows ``T | _Busy`` to ``T`` for type checkers.
    """

    BUSY = 'BUSY'  #: the write lock is taken: retry through :meth:`Database.write_connection`

    def __repr__(self) -> str:
        return 'BUSY'

    __str__ = __repr__


BUSY: Final = _Busy.BUSY


class Database:
    """One SQLite file. Reads run in deferred transactions, writes in ``BEGIN IMMEDIATE`` ones.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue on ``busy_timeout``
    instead of one failing with "database is locked" when it upgrades a read snapshot.
    """

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = path
        self._now: Connection | None = None  # write_now's connection, used only under the write lock
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

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection for reads (no ORM objects: the fast path of hot listings)."""
        with self.engine.connect() as conn:
            yield conn

    def write_now(self, work: Callable[[Connection], T]) -> T | _Busy:
        """Run ``work`` in a write transaction at once, or answer :data:`BUSY` without waiting.

        For async endpoints, which run on the event loop and must not block it: when another
        writer of this process holds the lock, or another process holds SQLite's write lock, the
        caller retries through :meth:`write_connection` in a worker thread. The transaction is as atomic as
        :meth:`write`'s (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if ``work`` raises).
        It runs on one connection kept for this purpose (used only under the write lock), whose
        busy timeout is 0, so that SQLite answers "locked" at once instead of waiting.
        """
        if not self._write_lock.acquire(blocking=False):
            return BUSY
        try:
            conn = self._now_connection()
            try:
                transaction = conn.begin()
            except OperationalError:  # SQLITE_BUSY: another process is writing
                if conn.in_transaction():
                    conn.rollback()
                return BUSY
            with transaction:
                return work(conn)
        finally:
            self._write_lock.release()

    def _now_connection(self) -> Connection:
        if self._now is None or self._now.closed or self._now.invalidated:
            conn = self._writer.connect()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute('PRAGMA busy_timeout = 0')
            self._now = conn
        return self._now

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """The blocking twin of :meth:`write_now`: a Core connection in a committed-or-nothing transaction."""
        with self._write_lock, self._writer.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        with self._write_lock:
            if self._now is not None:
                self._now.close()
                self._now = None
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
