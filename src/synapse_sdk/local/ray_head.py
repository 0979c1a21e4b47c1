"""A local Ray head on 127.0.0.1, owned by whoever starts it (the local agent, ``synapse plugin serve``, tests).

``ray start --head --block`` runs in a process group of its own, so stopping it ends exactly the
processes it started (never ``ray stop``, which would end every cluster of this user). Every port is
chosen on 127.0.0.1, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps Ray from rewriting the address to
the machine's interface, and the readiness probe sends this machine's Ray token (Ray 2.60 turns token
authentication on by default), so heads with and without token authentication are both recognised.
Worker ports sit below the kernel's ephemeral range, where free ports are drawn from, so the two never
collide (Ray refuses a head whose ports overlap).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from synapse_sdk.exceptions import ExecutorError

__all__ = ['LocalRayHead', 'free_port', 'start_head', 'worker_ports']

_AUTH_HINT = (
    'the head uses token authentication and no matching token was found; '
    'set RAY_AUTH_TOKEN or write the token to $HOME/.ray/auth_token'
)


def worker_ports(base: int = 10000) -> tuple[int, int]:
    """This process's 100 worker ports, from ``base`` (below the ephemeral range, 32768+ by default)."""
    low = base + (os.getpid() % 200) * 100
    return low, low + 99


def free_port(avoid: tuple[int, int] | None = None) -> int:
    """A free loopback port outside ``avoid``."""
    while True:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = int(sock.getsockname()[1])
        if avoid is None or not avoid[0] <= port <= avoid[1]:
            return port


@dataclass
class LocalRayHead:
    """A running head: its addresses, and :meth:`stop`."""

    process: subprocess.Popen[bytes]
    gcs_address: str
    dashboard_url: str
    temp_dir: Path
    log_file: Path
    num_cpus: int

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """End the head and every process it started; remove its session folder."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=3)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        _kill_session_processes(self.temp_dir)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _kill_session_processes(temp_dir: Path) -> None:
    """Ray daemons that left the process group (they name the session folder on their command line)."""
    marker = str(temp_dir).encode()
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / 'cmdline').read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def start_head(
    num_cpus: int | None = None,
    *,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
    ports: tuple[int, int] | None = None,
) -> LocalRayHead:
    """Start a head with the dashboard (the Jobs and Serve REST APIs) on free loopback ports.

    ``env`` replaces this process's environment for the head (a test's own ``HOME`` with
    ``RAY_AUTH_MODE=token``, say). Raises ``ExecutorError`` with the end of Ray's output when it does
    not answer within ``timeout`` seconds.
    """
    from synapse_sdk.plugins.executors.ray._auth import auth_headers

    env = dict(os.environ if env is None else env, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0')
    cpus = num_cpus or os.cpu_count() or 1
    workers = ports or worker_ports()
    temp_dir = Path(tempfile.mkdtemp(prefix='rt', dir='/tmp'))  # short: Ray's socket paths are length-limited
    port, dash = free_port(workers), free_port(workers)
    log_file = temp_dir / 'ray-start.log'
    ray_bin = Path(sys.executable).with_name('ray')
    args = [
        str(ray_bin), 'start', '--head', '--block',
        '--node-ip-address=127.0.0.1', f'--port={port}',
        '--include-dashboard=true', '--dashboard-host=127.0.0.1', f'--dashboard-port={dash}',
        f'--num-cpus={cpus}', '--disable-usage-stats', f'--temp-dir={temp_dir}',
        f'--ray-client-server-port={free_port(workers)}', f'--dashboard-agent-listen-port={free_port(workers)}',
        f'--runtime-env-agent-port={free_port(workers)}', f'--metrics-export-port={free_port(workers)}',
        f'--min-worker-port={workers[0]}', f'--max-worker-port={workers[1]}',
    ]  # fmt: skip
    with open(log_file, 'wb') as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    head = LocalRayHead(process, f'127.0.0.1:{port}', f'http://127.0.0.1:{dash}', temp_dir, log_file, cpus)
    probe = urllib.request.Request(f'{head.dashboard_url}/api/version', headers=auth_headers(env))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(probe, timeout=1) as reply:
                if reply.status == 200:
                    return head
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                head.stop()
                raise ExecutorError(
                    f'Ray head at {head.dashboard_url} refused the probe ({exc.code}): {_AUTH_HINT}'
                ) from None
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    output = log_file.read_text(errors='replace')[-3000:]
    head.stop()
    raise ExecutorError(f'The local Ray head did not start within {timeout:.0f} s:\n{output}')
