"""Plugins and wheels for the packaging tests, made offline (pip downloads from a local folder)."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

GREET = (
    'from synapse_sdk.plugins import action\n\n\n'
    '@action\ndef greet(params, ctx):\n    return {"message": "Hi " + params.get("name", "world")}\n'
)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def config(version: str = '1.0.0', actions: str = '  greet:\n    entrypoint: plugin.hi:greet\n') -> str:
    return f'name: Hi\ncode: hi\nversion: {version}\nactions:\n{actions}'


def make_wheel(destination: Path, name: str, version: str, padding: int = 0) -> Path:
    """A pure-Python wheel ``<name>`` (``<name>.VERSION``), with ``padding`` incompressible bytes in it."""
    files = {
        f'{name}/__init__.py': f'VERSION = {version!r}\n'.encode(),
        f'{name}-{version}.dist-info/METADATA': f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'.encode(),
        f'{name}-{version}.dist-info/WHEEL': b'Wheel-Version: 1.0\nGenerator: synapse-tests\nRoot-Is-Purelib: true\n'
        b'Tag: py3-none-any\n',
    }
    if padding:
        files[f'{name}/blob.bin'] = os.urandom(padding)
    record = f'{name}-{version}.dist-info/RECORD'
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        lines.append(f'{path},sha256={digest},{len(data)}')
    files[record] = ('\n'.join([*lines, f'{record},,']) + '\n').encode()
    destination.mkdir(parents=True, exist_ok=True)
    wheel = destination / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def offline_plugin(root: Path, index: Path, requirement: str = 'synapse_probe==1.0') -> Path:
    """The ``hi`` plugin requiring ``requirement``, which pip finds in the local folder ``index`` only."""
    return write(
        root,
        {
            'config.yaml': config(),
            'plugin/__init__.py': '',
            'plugin/hi.py': GREET,
            'requirements.txt': f'--no-index\n--find-links {index}\n{requirement}\n',
        },
    )


def files_under(folder: Path) -> list[str]:
    """Every path under ``folder`` (empty when it does not exist)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*')) if folder.exists() else []
