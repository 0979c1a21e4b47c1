"""``server.json``: which ``synapse local serve`` runs for a state directory, and whether it still does.

The record holds the server's URL, its pid, that process's start time (so that a pid reused after a
``kill -9`` is not mistaken for the server) and the backend's instance id. A record is *stale* when its
process is gone, when its pid now belongs to another process, or when what answers at its URL is not
this backend (``/health/`` names the instance); a stale record is removed, with a message.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Literal

import httpx

from synapse_sdk.local.paths import LocalPaths, write_private_file

__all__ = ['ServerRecord', 'ServerStatus', 'check_server', 'forget_record', 'process_start_time', 'write_record']

logger = logging.getLogger('synapse_sdk.local')

#: How long ``/health/`` may take before a live server is taken as busy (its record is then kept).
HEALTH_TIMEOUT = 2.0


@dataclass(frozen=True)
class ServerRecord:
    url: str
    pid: int
    started: int | None = None  #: the process's start time (clock ticks after boot, /proc/<pid>/stat)
    instance: str | None = None  #: the backend's instance id (``GET /health/`` answers it)


@dataclass(frozen=True)
class ServerStatus:
    """``running``: use ``record.url``; ``stale``: the record was removed (``reason`` says why);
    ``busy``: the process lives but did not answer in time (the record is kept); ``none``: no record."""

    state: Literal['running', 'stale', 'busy', 'none']
    record: ServerRecord | None = None
    reason: str = ''


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot), or None where ``/proc`` does not say."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as stat:
            text = stat.read().decode('ascii', 'replace')
    except OSError:
        return None
    fields = text.rpartition(')')[2].split()  # the command name may hold spaces and parentheses
    try:
        return int(fields[19])  # field 22 of the line; fields[0] is field 3 (the state)
    except (IndexError, ValueError):
        return None


def write_record(paths: LocalPaths, url: str, instance: str) -> ServerRecord:
    """Record this process as the server of ``paths`` (mode 0600, atomically)."""
    record = ServerRecord(url, os.getpid(), process_start_time(os.getpid()), instance)
    write_private_file(paths.server_file, json.dumps(record.__dict__))
    return record


def forget_record(paths: LocalPaths) -> None:
    """Remove the record if it is this process's (a newer server may have replaced it)."""
    try:
        record = _parse(paths.server_file.read_text())
    except (OSError, ValueError):
        return
    if record.pid == os.getpid() and record.started == process_start_time(os.getpid()):
        paths.server_file.unlink(missing_ok=True)


def _parse(text: str) -> ServerRecord:
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get('url'), str) or not isinstance(data.get('pid'), int):
        raise ValueError('server.json needs "url" (a string) and "pid" (an integer)')
    started, instance = data.get('started'), data.get('instance')
    return ServerRecord(
        data['url'],
        data['pid'],
        started if isinstance(started, int) else None,
        instance if isinstance(instance, str) else None,
    )


def _database_instance(paths: LocalPaths) -> str | None:
    """The instance id in the state directory's database, read without creating or changing anything."""
    if not paths.database.exists():
        return None
    try:
        conn = sqlite3.connect(f'{paths.database.as_uri()}?mode=ro', uri=True, timeout=1)
        try:
            row = conn.execute('SELECT uuid FROM instance LIMIT 1').fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _problem(paths: LocalPaths, record: ServerRecord) -> tuple[str, str] | None:
    """``(state, reason)`` when the record does not lead to this backend; None when it does."""
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return 'stale', f'process {record.pid} is gone'
    except PermissionError:
        pass  # alive, another user's
    if record.started is not None:
        now = process_start_time(record.pid)
        if now is not None and now != record.started:
            return 'stale', f'pid {record.pid} now belongs to another process (it started at another time)'
    try:
        with httpx.Client(trust_env=False, timeout=HEALTH_TIMEOUT) as http:
            answer = http.get(f'{record.url.rstrip("/")}/health/')
    except httpx.TimeoutException:
        return 'busy', f'{record.url} did not answer within {HEALTH_TIMEOUT:g} s'
    except httpx.HTTPError as exc:
        return 'stale', f'nothing answers at {record.url} ({type(exc).__name__})'
    try:
        found = answer.json().get('instance') if answer.status_code == 200 else None
    except (ValueError, AttributeError):
        found = None
    expected = {value for value in (record.instance, _database_instance(paths)) if value}
    if not isinstance(found, str) or (expected and expected != {found}):
        return 'stale', f'what answers at {record.url} is not this backend (instance {found or "unknown"})'
    return None


def check_server(paths: LocalPaths, *, clear: bool = True, log: bool = True) -> ServerStatus:
    """Whether the recorded server of ``paths`` runs; a stale record is removed (``clear``) and logged (``log``)."""
    try:
        text = paths.server_file.read_text()
    except FileNotFoundError:
        return ServerStatus('none')
    except OSError as exc:
        return ServerStatus('none', reason=f'{paths.server_file} cannot be read ({exc.strerror})')
    record: ServerRecord | None = None
    found: tuple[str, str] | None
    try:
        record = _parse(text)
    except ValueError:
        found = ('stale', 'the record is not valid JSON with "url" and "pid"')
    else:
        found = _problem(paths, record)
    if found is None:
        return ServerStatus('running', record)
    state, reason = found
    if state == 'busy':
        return ServerStatus('busy', record, reason)
    if clear:
        _remove_if_unchanged(paths, text)
    if log:
        logger.warning('Removed the stale server record %s: %s', paths.server_file, reason)
    return ServerStatus('stale', record, reason)


def _remove_if_unchanged(paths: LocalPaths, text: str) -> None:
    """Unlink the record unless a server has just written a new one."""
    try:
        if paths.server_file.read_text() == text:
            paths.server_file.unlink()
    except OSError:
        pass
