"""What this machine offers, read from ``os``, ``/proc``, cgroups and ``nvidia-smi`` (never from Ray).

The local backend answers the agent's resource endpoints with these figures. CPU and memory honour
the process's affinity and a cgroup v2 limit (containers); GPUs honour ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ['GPU', 'Capacity', 'capacity', 'cpu_count', 'gpus', 'memory', 'ray_status', 'system_info']

_CGROUP = Path('/sys/fs/cgroup')


@dataclass(frozen=True)
class GPU:
    index: int
    name: str
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    utilization_percent: float | None = None


@dataclass(frozen=True)
class Capacity:
    """The schedulable total of this machine (one node)."""

    cpu: float
    gpu: int
    memory_bytes: int
    memory_available_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def cpu_count() -> float:
    """CPUs this process may use: its affinity, capped by a cgroup v2 ``cpu.max`` quota."""
    try:
        count: float = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = (_read(_CGROUP / 'cpu.max') or '').split()
    if len(quota) == 2 and quota[0] != 'max' and int(quota[1]) > 0:
        count = min(count, int(quota[0]) / int(quota[1]))
    return count


def _meminfo() -> dict[str, int]:
    out = {}
    for line in (_read(Path('/proc/meminfo')) or '').splitlines():
        name, _, rest = line.partition(':')
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[name] = int(parts[0]) * (1024 if parts[-1] == 'kB' else 1)
    return out


def memory() -> tuple[int, int]:
    """``(total, available)`` bytes: ``/proc/meminfo`` (else ``sysconf``), capped by cgroup v2 ``memory.max``."""
    info = _meminfo()
    page = os.sysconf('SC_PAGE_SIZE')
    total = info.get('MemTotal') or page * os.sysconf('SC_PHYS_PAGES')
    available = info.get('MemAvailable') or page * os.sysconf('SC_AVPHYS_PAGES')
    limit = (_read(_CGROUP / 'memory.max') or '').strip()
    if limit.isdigit():
        used = int((_read(_CGROUP / 'memory.current') or '0').strip() or 0)
        total = min(total, int(limit))
        available = min(available, max(0, int(limit) - used))
    return total, available


def _visible(indices: list[int]) -> list[int]:
    wanted = os.environ.get('CUDA_VISIBLE_DEVICES')
    if wanted is None:
        return indices
    chosen = {int(part) for part in wanted.split(',') if part.strip().isdigit()}
    return [i for i in indices if i in chosen]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _nvidia_smi(binary: str) -> list[GPU] | None:
    query = 'index,name,memory.total,memory.used,utilization.gpu'
    try:
        out = subprocess.run(
            [binary, f'--query-gpu={query}', '--format=csv,noheader,nounits'],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = []
    for line in out.strip().splitlines():
        cells = [cell.strip() for cell in line.split(',')]
        if len(cells) == 5 and cells[0].isdigit():
            total, used = _number(cells[2]), _number(cells[3])
            found.append(
                GPU(
                    int(cells[0]),
                    cells[1],
                    int(total * 2**20) if total is not None else None,
                    int(used * 2**20) if used is not None else None,
                    _number(cells[4]),
                )
            )
    return found


def _proc_gpus() -> list[GPU]:
    found = []
    for index, folder in enumerate(sorted(Path('/proc/driver/nvidia/gpus').glob('*'))):
        model = 'NVIDIA GPU'
        for line in (_read(folder / 'information') or '').splitlines():
            if line.startswith('Model:'):
                model = line.partition(':')[2].strip()
        found.append(GPU(index, model))
    return found


def gpus() -> list[GPU]:
    """The visible GPUs: ``nvidia-smi`` when installed (memory and load too), else ``/proc/driver/nvidia``."""
    binary = shutil.which('nvidia-smi')
    found = (_nvidia_smi(binary) if binary else None) or _proc_gpus()
    keep = set(_visible([gpu.index for gpu in found]))
    return [gpu for gpu in found if gpu.index in keep]


def capacity(gpu_list: list[GPU] | None = None) -> Capacity:
    total, available = memory()
    return Capacity(cpu_count(), len(gpus() if gpu_list is None else gpu_list), total, available)


def ray_status() -> dict[str, Any]:
    """Whether Ray is initialised in this process and which Ray is installed (never imports or starts it)."""
    ray = sys.modules.get('ray')
    initialized = bool(ray is not None and getattr(ray, 'is_initialized', lambda: False)())
    return {'initialized': initialized, 'version': installed_version('ray')}


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def system_info(state_dir: Path) -> dict[str, Any]:
    from synapse_sdk import __version__

    usage = shutil.disk_usage(state_dir)
    uptime = (_read(Path('/proc/uptime')) or '').split()
    return {
        'hostname': socket.gethostname(),
        'platform': platform.platform(),
        'python': platform.python_version(),
        'sdk_version': __version__,
        'pid': os.getpid(),
        'time': time.time(),
        'uptime_seconds': float(uptime[0]) if uptime else None,
        'load_average': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
        'disk': {'path': str(state_dir), 'total': usage.total, 'used': usage.used, 'free': usage.free},
        'ray': ray_status(),
    }
