"""A throwaway local Ray head on 127.0.0.1 (used by the Ray tests and the Ray benchmarks).

``ray start --head --block`` runs in its own process group, so stopping it ends exactly the
processes it started (never ``ray stop``, which would end every cluster of this user).
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
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: The plugin the Ray tests run.
SAMPLE = Path(__file__).parent / 'plugins' / 'sample'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalCluster:
    process: subprocess.Popen[bytes]
    gcs_address: str
    dashboard_url: str
    temp_dir: Path
    log_file: Path

    def stop(self) -> None:
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
    """Ray daemons that left the process group (they name our temp dir on their command line)."""
    marker = str(temp_dir).encode()
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / 'cmdline').read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def start_cluster(num_cpus: int = 2, timeout: float = 90.0) -> LocalCluster:
    """Start a head node with the dashboard (for the Jobs API) on free loopback ports."""
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0')
    temp_dir = Path(tempfile.mkdtemp(prefix='rt', dir='/tmp'))
    port, dash = free_port(), free_port()
    log_file = temp_dir / 'ray-start.log'
    ray_bin = Path(sys.executable).with_name('ray')
    args = [
        str(ray_bin), 'start', '--head', '--block',
        '--node-ip-address=127.0.0.1', f'--port={port}',
        '--include-dashboard=true', '--dashboard-host=127.0.0.1', f'--dashboard-port={dash}',
        f'--num-cpus={num_cpus}', '--disable-usage-stats', f'--temp-dir={temp_dir}',
        f'--ray-client-server-port={free_port()}', f'--dashboard-agent-listen-port={free_port()}',
        f'--runtime-env-agent-port={free_port()}', f'--metrics-export-port={free_port()}',
        f'--min-worker-port={20000 + os.getpid() % 20000}', f'--max-worker-port={20100 + os.getpid() % 20000}',
    ]  # fmt: skip
    with open(log_file, 'wb') as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = LocalCluster(process, f'127.0.0.1:{port}', f'http://127.0.0.1:{dash}', temp_dir, log_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f'{cluster.dashboard_url}/api/version', timeout=1) as reply:
                if reply.status == 200:
                    return cluster
        except OSError:
            time.sleep(0.3)
    output = log_file.read_text(errors='replace')[-3000:]
    cluster.stop()
    raise RuntimeError(f'Ray head did not start within {timeout} s:\n{output}')
