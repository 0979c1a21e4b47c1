"""Offline plugin bundles: what ``synapse plugin package`` writes, and how a run unpacks one.

A bundle is one zip file, ``<code>-<version>.synapse.zip``, holding:

- ``synapse-bundle.json``: the :class:`BundleManifest` (code, version, the Python and platform the
  wheels were downloaded for, the SHA-256 of each wheel);
- ``plugin/``: the plugin folder, exactly the files ``synapse plugin publish`` would upload;
- ``wheels/``: wheels of everything ``requirements.txt`` needs (``pip download --only-binary=:all:``).

:func:`unpacked_bundle` unpacks it once into ``$SYNAPSE_STATE_DIR/bundles/<sha256>/`` (refusing an
archive over the publish limits, a member outside its folder, a wheel whose digest does not match)
and returns the plugin folder, with the wheels in its :data:`SHIPPED_WHEELS` subfolder: so they ship
with the Ray working dir, and :func:`offline_wheels` tells the runtime to install with pip's
``--no-index --find-links`` there (no package index is contacted).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from synapse_sdk.exceptions import PluginError
from synapse_sdk.plugins._remote import LIMITS, _limit

__all__ = [
    'BUNDLE_SUFFIX',
    'MANIFEST_FILE',
    'PLUGIN_PREFIX',
    'SHIPPED_WHEELS',
    'WHEELS_PREFIX',
    'BundleManifest',
    'BundleWheel',
    'bundle_cache_root',
    'is_bundle',
    'offline_wheels',
    'read_manifest',
    'unpacked_bundle',
]

BUNDLE_SUFFIX = '.synapse.zip'
MANIFEST_FILE = 'synapse-bundle.json'
PLUGIN_PREFIX = 'plugin/'
WHEELS_PREFIX = 'wheels/'
#: Where an unpacked bundle's wheels are, inside its plugin folder (so they ship with the working dir).
SHIPPED_WHEELS = '_synapse_wheels'
_CHUNK = 1 << 20
_WHEEL_NAME = re.compile(r'^[A-Za-z0-9_.+-]+\.whl$')
_SHA256 = re.compile(r'^[0-9a-f]{64}$')


class BundleWheel(BaseModel):
    """One wheel of the bundle."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    file: str  #: the wheel's file name, under ``wheels/``
    sha256: str = Field(pattern=_SHA256.pattern)
    size: int = Field(ge=0)

    @field_validator('file')
    @classmethod
    def _plain_wheel_name(cls, value: str) -> str:
        if not _WHEEL_NAME.match(value):
            raise ValueError(f'{value!r} is not a wheel file name (name-version-tags.whl, no folders)')
        return value


class BundleManifest(BaseModel):
    """``synapse-bundle.json``: what the bundle holds and what it was made for."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    format: Literal[1] = 1
    code: str
    version: str
    python: str  #: the interpreter tag the wheels were downloaded for (``cp311``)
    python_version: str  #: ``3.11.9``
    platform: str  #: ``sysconfig.get_platform()`` of the packaging machine (``linux-x86_64``)
    plugin_sha256: str = Field(pattern=_SHA256.pattern)  #: of the plugin archive ``publish`` would upload
    requirements: list[str]  #: the checked lines of ``requirements.txt``
    wheels: list[BundleWheel]


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a zip file holding a bundle manifest."""
    location = Path(path)
    if not location.is_file():
        return False
    try:
        with zipfile.ZipFile(location) as archive:
            return MANIFEST_FILE in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_manifest(archive: zipfile.ZipFile, label: str) -> BundleManifest:
    """The bundle's manifest, checked.

    Raises:
        PluginError: it is missing or does not match the format (the field named).
    """
    try:
        raw = archive.read(MANIFEST_FILE)
    except KeyError:
        raise PluginError(
            f'{label} is not a plugin bundle: it has no {MANIFEST_FILE}; make one with `synapse plugin package`',
            {'bundle': label},
        ) from None
    try:
        return BundleManifest.model_validate_json(raw)
    except ValidationError as exc:
        fields = '; '.join(f'{".".join(map(str, e["loc"])) or "(top level)"}: {e["msg"]}' for e in exc.errors())
        raise PluginError(
            f'{label}: {MANIFEST_FILE} is not a bundle manifest ({fields}); package the plugin again',
            {'bundle': label},
        ) from None


def bundle_cache_root() -> Path:
    """``$SYNAPSE_STATE_DIR/bundles`` (default ``~/.synapse/state/bundles``)."""
    state = os.environ.get('SYNAPSE_STATE_DIR')
    return (Path(state).expanduser() if state else Path.home() / '.synapse' / 'state') / 'bundles'


def offline_wheels(plugin_dir: Path) -> str | None:
    """:data:`SHIPPED_WHEELS` when ``plugin_dir`` is an unpacked bundle's plugin folder, else None."""
    if (plugin_dir / SHIPPED_WHEELS).is_dir() and (plugin_dir.parent / MANIFEST_FILE).is_file():
        return SHIPPED_WHEELS
    return None


def unpacked_bundle(path: str | os.PathLike[str]) -> Path:
    """The plugin folder of the bundle at ``path``, unpacked once (per content) into the state dir.

    Raises:
        PluginError: the file is over a limit, is not a bundle, has a member outside its folder or a
            wheel that does not match its manifest (nothing is left in the state dir then).
    """
    file = Path(path).resolve()
    label = f'bundle {file.name}'
    size = file.stat().st_size
    _within(label, 'download', size, f'is {size} bytes')
    digest = _file_sha256(file)
    folder = bundle_cache_root() / digest[:32]
    if (folder / MANIFEST_FILE).is_file() and (folder / 'plugin' / 'config.yaml').is_file():
        return folder / 'plugin'
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{folder.name}.', dir=folder.parent))
    try:
        try:
            archive = zipfile.ZipFile(file)
        except zipfile.BadZipFile:
            raise PluginError(f'{label} is not a zip file; make one with `synapse plugin package`', {}) from None
        with archive:
            manifest = read_manifest(archive, label)
            members = archive.infolist()
            _within(label, 'members', len(members), f'has {len(members)} members')
            unpacked = sum(member.file_size for member in members)  # extraction never writes more than this
            _within(label, 'unpacked', unpacked, f'unpacks to {unpacked} bytes')
            _extract(archive, manifest, staging, label)
        try:
            staging.rename(folder)
        except OSError:  # unpacked meanwhile by another run: same content, keep that one
            if not (folder / MANIFEST_FILE).is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / 'plugin'


def _within(label: str, kind: str, value: int, fact: str) -> None:
    limit = _limit(kind)
    if value > limit:
        name = LIMITS[kind][0]
        raise PluginError(f'{label} {fact} (limit {limit}); set {name} to raise it', {'bundle': label, 'limit': name})


def _file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open('rb') as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _extract(archive: zipfile.ZipFile, manifest: BundleManifest, staging: Path, label: str) -> None:
    """``plugin/*`` into ``plugin/``, ``wheels/*`` into ``plugin/_synapse_wheels/`` (each digest checked)."""
    expected = {wheel.file: wheel for wheel in manifest.wheels}
    plugin, wheels = staging / 'plugin', staging / 'plugin' / SHIPPED_WHEELS
    found: set[str] = set()
    top = staging.resolve()
    for info in archive.infolist():
        name = info.filename
        if not (top / name).resolve().is_relative_to(top):
            raise PluginError(f'{label} has a member outside its folder: {name!r}', {'bundle': label})
        if name == MANIFEST_FILE or info.is_dir():
            continue
        if name.startswith(PLUGIN_PREFIX):
            rel = name.removeprefix(PLUGIN_PREFIX)
            if rel == SHIPPED_WHEELS or rel.startswith(f'{SHIPPED_WHEELS}/'):
                raise PluginError(f'{label}: {name} uses the reserved folder {SHIPPED_WHEELS}/', {'bundle': label})
            _copy(archive, info, plugin / rel)
        elif name.startswith(WHEELS_PREFIX) and name.removeprefix(WHEELS_PREFIX) in expected:
            wheel = expected[name.removeprefix(WHEELS_PREFIX)]
            if _copy(archive, info, wheels / wheel.file) != wheel.sha256:
                raise PluginError(
                    f'{label}: {name} does not match the sha256 in {MANIFEST_FILE} (the file was changed); '
                    'package the plugin again',
                    {'bundle': label, 'wheel': wheel.file},
                )
            found.add(wheel.file)
        else:
            raise PluginError(
                f'{label}: unexpected member {name!r} (a bundle holds {MANIFEST_FILE}, {PLUGIN_PREFIX} and the '
                f'wheels its manifest lists under {WHEELS_PREFIX}); package the plugin again',
                {'bundle': label},
            )
    missing = sorted(set(expected) - found)
    if missing:
        raise PluginError(
            f'{label}: wheels listed in {MANIFEST_FILE} are missing: {", ".join(missing)}', {'bundle': label}
        )
    if not (plugin / 'config.yaml').is_file():
        raise PluginError(f'{label} has no {PLUGIN_PREFIX}config.yaml; package the plugin again', {'bundle': label})
    (staging / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2), encoding='utf-8')
    wheels.mkdir(parents=True, exist_ok=True)


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> str:
    """Write one member to ``target`` (mode kept: executable or not); returns its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with archive.open(info) as source, os.fdopen(fd, 'wb') as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
