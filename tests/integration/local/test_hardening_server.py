"""``synapse local serve`` as a real subprocess: the JSON body limit and its memory, stale ``server.json``, ``--host``.

The server runs as ``synapse local serve --port 0`` in its own process, so that its memory (``VmHWM`` of
``/proc/<pid>/status``) is measured apart from this test's, and so that ``kill -9`` is a real one.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.server_record import check_server, process_start_time

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNAPSE = Path(sys.executable).parent / 'synapse'
MiB = 1 << 20
JSON_LIMIT = 16 * MiB
runner = CliRunner()


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    state: Path
    url: str
    token: str
    stderr: Path

    @property
    def port(self) -> int:
        return int(self.url.rstrip('/').rsplit(':', 1)[1])


def start_server(state: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
    """``synapse local serve --port 0`` over ``state``, once it has recorded itself in server.json."""
    err = state.with_name(state.name + '.stderr')
    with open(err, 'wb') as stderr:
        proc = subprocess.Popen(
            [str(SYNAPSE), 'local', 'serve', '--port', '0', '--dir', str(state), *extra],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
    record = state / 'server.json'
    deadline = time.monotonic() + 60
    while not record.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f'synapse local serve did not start: {err.read_text()}')
        time.sleep(0.05)
    url = json.loads(record.read_text())['url']
    return Served(proc, state, url, (state / 'access_token').read_text().strip(), err)


def stop_server(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGINT)
        try:
            served.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait()


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_server(tmp_path_factory.mktemp('serve') / 'state')
    try:
        yield served
    finally:
        stop_server(served)


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (the peak) of a process, in KiB."""
    found = {}
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        key, _, value = line.partition(':')
        if key in ('VmRSS', 'VmHWM'):
            found[key] = int(value.split()[0])
    return found


def reset_peak(pid: int) -> None:
    """Make ``VmHWM`` restart from the current RSS (``clear_refs`` 5), where the kernel lets us."""
    try:
        Path(f'/proc/{pid}/clear_refs').write_text('5')
    except OSError:
        pass


def raw_request(served: Served, path: str, total: int, *, chunked: bool) -> tuple[int, dict[str, Any], int]:
    """PUT a ``total``-byte JSON document over a raw socket, stopping as soon as the server answers.

    Returns ``(status, body, bytes sent)``; the body is streamed from one 256 KiB piece, never built whole.
    """
    framing = 'Transfer-Encoding: chunked' if chunked else f'Content-Length: {total}'
    head = (
        f'PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nSynapse-Access-Token: Token {served.token}\r\n'
        f'Content-Type: application/json\r\n{framing}\r\n\r\n'
    )
    prefix, suffix, piece = b'{"data": "', b'"}', b'x' * (256 << 10)
    sock = socket.create_connection(('127.0.0.1', served.port), timeout=30)
    try:
        sock.sendall(head.encode())
        sent, left = 0, total
        for part in [prefix, *([piece] * ((total - len(prefix) - len(suffix)) // len(piece))), suffix]:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: send no more
            left -= len(part)
            data = f'{len(part):x}\r\n'.encode() + part + b'\r\n' if chunked else part
            try:
                sock.sendall(data)
            except OSError:  # the server closed the connection after answering
                break
            sent += len(part)
        return (*read_response(sock), sent)
    finally:
        sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        assert chunk, f'the connection closed before a response: {data!r}'
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(':') for line in lines[1:])}
    while len(body) < int(headers['content-length']):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), json.loads(body)


@pytest.mark.parametrize('chunked', [False, True], ids=['content-length', 'chunked'])
def test_a_280_mib_json_put_is_refused_with_413_and_bounded_memory(server: Served, chunked: bool) -> None:
    pid = server.proc.pid
    reset_peak(pid)
    before = memory_kib(pid)
    started = time.monotonic()
    status, body, sent = raw_request(server, '/tasks/1/annotate_task_data/', 280 * MiB, chunked=chunked)
    seconds = time.monotonic() - started
    after = memory_kib(pid)
    growth_mib = (after['VmHWM'] - before['VmRSS']) / 1024
    figures = f'{"chunked" if chunked else "content-length"}: {seconds:.2f} s, peak RSS growth {growth_mib:.1f} MiB'
    print(f'\n280 MiB JSON PUT, {figures}, {sent / MiB:.1f} MiB sent before the answer')
    assert status == 413, figures
    assert body['detail'].startswith(f'Request body too large: the limit is {JSON_LIMIT} bytes (16 MiB) for JSON')
    assert '--max-json-bytes' in body['detail'] and 'multipart/form-data' in body['detail']
    assert growth_mib < 100, figures  # the fix: 280 MiB used to take the backend to 3.35 GiB
    assert seconds < 30, figures
    # refused before the body was buffered: at once with Content-Length, after ~16 MiB when chunked
    assert sent < (16 if not chunked else 48) * MiB, figures


def test_json_under_the_limit_and_uploads_over_it_still_work(server: Served) -> None:
    headers = {'Synapse-Access-Token': f'Token {server.token}'}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
        description = 'd' * (8 * MiB)  # half the JSON limit, chunked and not
        created = http.post('projects/', json={'name': 'big', 'description': description})
        assert created.status_code == 201, created.text
        streamed = http.post(
            'projects/',
            content=iter([json.dumps({'name': 'streamed', 'description': description}).encode()]),
            headers={'Content-Type': 'application/json'},
        )
        assert streamed.status_code == 201, streamed.text
        assert 'content-length' not in streamed.request.headers

        payload = os.urandom(17 * MiB)  # over the JSON limit, far under the upload limit
        uploaded = http.post('data_files/', files={'file': ('big.bin', payload, 'application/octet-stream')})
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()['size'] == len(payload), uploaded.text

        # multipart to a route that takes JSON gets the JSON limit: the content type is no way around it
        sneaky = http.post('projects/', files={'file': ('big.bin', payload, 'application/octet-stream')})
        assert sneaky.status_code == 413
        assert sneaky.json()['detail'].startswith(f'Request body too large: the limit is {JSON_LIMIT} bytes')


def test_a_smaller_json_limit_from_the_cli(tmp_path: Path) -> None:
    served = start_server(tmp_path / 'state', '--max-json-bytes', '1000')
    try:
        with httpx.Client(base_url=served.url, headers={'Synapse-Access-Token': f'Token {served.token}'}) as http:
            refused = http.post('projects/', json={'name': 'x' * 2000})
            assert refused.status_code == 413
            assert refused.json()['detail'].startswith('Request body too large: the limit is 1000 bytes (1000 B)')
            assert http.post('projects/', json={'name': 'fits'}).status_code == 201
    finally:
        stop_server(served)
    assert served.proc.returncode == 130  # stopped by SIGINT, as Ctrl+C stops it
    assert not (served.state / 'server.json').exists()  # a clean stop removes its record
    assert b'WARNING' not in served.stderr.read_bytes()  # 127.0.0.1: no exposure warning


def test_kill_9_leaves_a_record_that_status_and_connect_report_stale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = start_server(tmp_path / 'state')
    paths = LocalPaths(served.state)
    try:
        alive = runner.invoke(app, ['local', 'status', '--dir', str(served.state)])
        assert alive.exit_code == 0, alive.output
        assert f'Running at {served.url} (pid {served.proc.pid})' in alive.output
        record = json.loads(paths.server_file.read_text())
        assert record['pid'] == served.proc.pid and record['started'] == process_start_time(served.proc.pid)
        assert record['instance'] == httpx.get(f'{served.url}health/').json()['instance']
    finally:
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait()
    left = paths.server_file.read_text()  # kill -9: nothing removed it

    gone = runner.invoke(app, ['local', 'status', '--dir', str(served.state)])
    assert gone.exit_code == 1
    assert gone.output == f'Stale server record removed ({paths.server_file}): process {served.proc.pid} is gone\n'
    assert not paths.server_file.exists()

    from synapse_sdk.local.connect import connect_local, running_server_url

    paths.server_file.write_text(left)
    with caplog.at_level('WARNING', logger='synapse_sdk.local'):
        assert running_server_url(paths) is None
    assert f'process {served.proc.pid} is gone' in caplog.text and not paths.server_file.exists()
    paths.server_file.write_text(left)
    with connect_local(served.state) as client:  # falls back to an in-process backend
        assert client.base_url == 'http://synapse.local/'
        assert client.storages.list()[0]['name'] == 'local'
    assert not paths.server_file.exists()


def test_a_host_that_is_not_loopback_warns_in_red_on_stderr(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails, so nothing is exposed by this test
    assert Path('/proc/sys/net/ipv4/ip_nonlocal_bind').read_text().strip() == '0'
    done = subprocess.run(
        [str(SYNAPSE), 'local', 'serve', '--host', '192.0.2.1', '--port', '0', '--dir', str(tmp_path / 'state')],
        capture_output=True,
        timeout=120,
        env={**os.environ, 'FORCE_COLOR': '1', 'COLUMNS': '400'},
    )
    assert done.returncode != 0  # could not bind
    stderr = done.stderr.decode()
    assert '\x1b[1;31mWARNING: --host 192.0.2.1 is not a loopback address.' in stderr
    assert 'exposes EVERY project' in stderr and 'tokens travel in clear text over plain HTTP' in stderr
    assert 'WARNING' not in done.stdout.decode()
    assert not (tmp_path / 'state' / 'server.json').exists()  # never listened: never recorded


def test_a_forged_record_naming_a_live_unrelated_pid_is_stale(
    tmp_path: Path, local_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from synapse_sdk.local.server import running
    from synapse_sdk.local.setup import init_local, write_private_file

    init_local(tmp_path / 'mine')
    paths = LocalPaths(tmp_path / 'mine')
    me, my_start = os.getpid(), process_start_time(os.getpid())
    assert my_start is not None

    def forge(**record: Any) -> str:
        write_private_file(paths.server_file, json.dumps(record))
        found = check_server(paths)
        assert found.state == 'stale' and not paths.server_file.exists(), found
        return found.reason

    with running(paths.root) as url:
        # this process is alive, but it is not the process that wrote the record (another start time)
        reason = forge(url=url, pid=me, started=my_start + 1, instance=None)
        assert reason == f'pid {me} now belongs to another process (it started at another time)'
        # the right process, but another backend (another state directory) answers at the URL
        reason = forge(url=local_backend.base_url, pid=me, started=my_start)
        assert reason.startswith(f'what answers at {local_backend.base_url} is not this backend (instance ')
        # an older record (no start time, no instance): nothing listens at its URL any more
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            closed = f'http://127.0.0.1:{probe.getsockname()[1]}/'
        with caplog.at_level('WARNING', logger='synapse_sdk.local'):
            assert forge(url=closed, pid=me).startswith(f'nothing answers at {closed}')
        assert f'Removed the stale server record {paths.server_file}' in caplog.text
        # and the genuine record is kept and used
        write_private_file(paths.server_file, json.dumps({'url': url, 'pid': me, 'started': my_start}))
        assert check_server(paths).state == 'running' and paths.server_file.exists()
        status = runner.invoke(app, ['local', 'status', '--dir', str(paths.root)])
        assert status.exit_code == 0 and f'Running at {url}' in status.output
        paths.server_file.unlink()
