"""The helpers behind the backend hardening: loopback hosts, 413 details, process start times, import progress."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from synapse_sdk.cli._import_progress import ImportProgress
from synapse_sdk.local.limits import json_too_large_detail, too_large_detail
from synapse_sdk.local.server import is_loopback_host
from synapse_sdk.local.server_record import process_start_time


@pytest.mark.parametrize('host', ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LOCALHOST'])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize('host', ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', '8.8.8.8', 'fe80::1'])
def test_hosts_that_expose_the_backend(host: str) -> None:
    assert not is_loopback_host(host)


def test_the_json_413_names_both_limits_when_they_differ() -> None:
    assert (
        json_too_large_detail(1024, 1024) == too_large_detail(1024) == 'Request body too large: the limit is 1024 bytes'
    )
    assert json_too_large_detail(16 << 20, 2 << 30) == (
        'Request body too large: the limit is 16777216 bytes (16 MiB) for JSON and other non-file bodies '
        '(`synapse local serve --max-json-bytes` sets it); file uploads (multipart/form-data) may be up to '
        '2147483648 bytes (2 GiB)'
    )


def test_process_start_time_tells_processes_apart() -> None:
    mine = process_start_time(os.getpid())
    assert isinstance(mine, int) and mine > 0
    assert process_start_time(1) is not None and process_start_time(1) <= mine  # init started first
    assert process_start_time(2**22 + 7) is None  # above pid_max: no such process


def test_the_progress_bar_counts_files_and_bytes_on_a_terminal(tmp_path: Path) -> None:
    for stem, size in (('a', 1000), ('b', 3000)):
        (tmp_path / f'{stem}.jpg').write_bytes(b'x' * size)
    (tmp_path / 'a.json').write_text('{}')
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    with ImportProgress(console, tmp_path, ['image=*.jpg', 'annotation_data=*.json']) as progress:
        assert (progress.total_files, progress.total_bytes) == (3, 4002)
        progress.update(1, 2)  # unit 'a': a.jpg and a.json
        assert (progress.done_files, progress.done_bytes) == (2, 1002)
        progress._bar.refresh()
        progress.update(2, 2)
    assert (progress.done_files, progress.done_bytes) == (3, 4002)
    drawn = out.getvalue()
    assert '2/3 files' in drawn and '1.0/4.0 kB' in drawn
    assert progress.summary().startswith('Processed 3 files (4.0 kB) in ')

    quiet = io.StringIO()
    with ImportProgress(Console(file=quiet, force_terminal=True), tmp_path, ['image=*.jpg'], quiet=True) as p:
        p.update(2, 2)
    assert quiet.getvalue() == ''
