"""A throwaway local Ray head on 127.0.0.1 (used by the Ray tests and the Ray benchmarks).

``ray start --head --block`` runs in its own process group, so stopping it ends exactly the
processes it started (never ``ray stop``, which would end every cluster of this user).
"""

from __future__ import annotations

import base64
import hashlib
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
import zipfile
from dataclasses import dataclass
from pathlib import Path

from synapse_sdk.plugins.executors.ray._ray import auth_headers

#: The plugin the Ray tests run.
SAMPLE = Path(__file__).parent / 'plugins' / 'sample'
_AUTH_HINT = (
    'the head uses token authentication and no matching token was found; '
    'set RAY_AUTH_TOKEN or write the token to $HOME/.ray/auth_token'
)


#: this process's range of worker ports: below the kernel's ephemeral range (32768+ by default), where
#: :func:`free_port` finds the other ports, so the two never overlap (Ray refuses a head whose ports collide)
WORKER_PORTS = (10000 + (os.getpid() % 200) * 100, 10000 + (os.getpid() % 200) * 100 + 99)


def free_port() -> int:
    """A free loopback port outside :data:`WORKER_PORTS`."""
    while True:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = int(sock.getsockname()[1])
        if not WORKER_PORTS[0] <= port <= WORKER_PORTS[1]:
            return port


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


def start_cluster(num_cpus: int = 2, timeout: float = 90.0, env: dict[str, str] | None = None) -> LocalCluster:
    """Start a head node with the dashboard (for the Jobs API) on free loopback ports.

    ``env`` replaces this process's environment for the head (e.g. another ``HOME`` and
    ``RAY_AUTH_MODE=token`` for a head with token authentication); the readiness probe sends the
    token the head will use, so both kinds of head are recognised as soon as they answer.
    """
    env = dict(os.environ if env is None else env, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0')
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
        f'--min-worker-port={WORKER_PORTS[0]}', f'--max-worker-port={WORKER_PORTS[1]}',
    ]  # fmt: skip
    with open(log_file, 'wb') as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = LocalCluster(process, f'127.0.0.1:{port}', f'http://127.0.0.1:{dash}', temp_dir, log_file)
    probe = urllib.request.Request(f'{cluster.dashboard_url}/api/version', headers=auth_headers(env))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(probe, timeout=1) as reply:
                if reply.status == 200:
                    return cluster
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                cluster.stop()
                raise RuntimeError(
                    f'Ray head at {cluster.dashboard_url} refused the probe ({exc.code}): {_AUTH_HINT}'
                ) from None
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    output = log_file.read_text(errors='replace')[-3000:]
    cluster.stop()
    raise RuntimeError(f'Ray head did not start within {timeout} s:\n{output}')


def files_containing(cluster: LocalCluster, text: str) -> list[str]:
    """Files of the cluster's session folder (logs, unpacked packages ...) that contain ``text``.

    The virtualenvs Ray builds for pip/uv requirements are skipped (hundreds of MiB, no run data).
    """
    needle = text.encode()
    found: list[str] = []
    for current, dirs, files in os.walk(cluster.temp_dir):
        dirs[:] = [d for d in dirs if not (Path(current).name == 'runtime_resources' and d in ('pip', 'uv'))]
        for name in files:
            path = Path(current, name)
            try:
                if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                    found.append(str(path.relative_to(cluster.temp_dir)))
            except OSError:
                continue
    return sorted(found)


def make_wheel(destination: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel (``<name>.VERSION``), built without network or build tools."""
    files = {
        f'{name}/__init__.py': f'VERSION = {version!r}\n'.encode(),
        f'{name}-{version}.dist-info/METADATA': f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'.encode(),
        f'{name}-{version}.dist-info/WHEEL': b'Wheel-Version: 1.0\nGenerator: synapse-tests\nRoot-Is-Purelib: true\n'
        b'Tag: py3-none-any\n',
    }
    record = f'{name}-{version}.dist-info/RECORD'
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        lines.append(f'{path},sha256={digest},{len(data)}')
    files[record] = ('\n'.join([*lines, f'{record},,']) + '\n').encode()
    wheel = destination / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel
