"""A throwaway local Ray head on 127.0.0.1 (used by the Ray tests and the Ray benchmarks).

``ray start --head --block`` runs in its own process group, so stopping it ends exactly the
processes it started (never ``ray stop``, which would end every cluster of this user).
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

from synapse_sdk.local.ray_head import LocalRayHead, start_head, worker_ports
from synapse_sdk.local.ray_head import free_port as _free_port

#: The plugin the Ray tests run.
SAMPLE = Path(__file__).parent / 'plugins' / 'sample'
_AUTH_HINT = (
    'the head uses token authentication and no matching token was found; '
    'set RAY_AUTH_TOKEN or write the token to $HOME/.ray/auth_token'
)


#: this process's range of worker ports (below the ephemeral range, where free ports are found)
WORKER_PORTS = worker_ports()
LocalCluster = LocalRayHead


def free_port() -> int:
    """A free loopback port outside :data:`WORKER_PORTS`."""
    return _free_port(WORKER_PORTS)


def start_cluster(num_cpus: int = 2, timeout: float = 90.0, env: dict[str, str] | None = None) -> LocalRayHead:
    """A head with the dashboard on free loopback ports (``synapse_sdk.local.ray_head.start_head``)."""
    return start_head(num_cpus, timeout=timeout, env=env, ports=WORKER_PORTS)


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
