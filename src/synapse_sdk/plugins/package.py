"""``synapse plugin package``: a plugin and the wheels of its requirements, as one offline bundle.

:func:`build_bundle` runs the checks of ``synapse plugin publish``
(:func:`~synapse_sdk.plugins.publish.prepare_release`: a semantic version, entrypoints that import
and ship, the archive limits), downloads the wheels of ``requirements.txt`` for this Python and
platform with this interpreter's pip (``pip download --only-binary=:all:``), checks the whole bundle
against the same limits and only then writes ``<code>-<version>.synapse.zip`` (format:
:mod:`synapse_sdk.plugins.bundle`). A plugin that cannot be packaged is refused with every reason,
one line each, and nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from synapse_sdk.exceptions import PluginError
from synapse_sdk.plugins._remote import LIMITS, _limit, _safe_name
from synapse_sdk.plugins.bundle import (
    BUNDLE_SUFFIX,
    MANIFEST_FILE,
    PLUGIN_PREFIX,
    SHIPPED_WHEELS,
    WHEELS_PREFIX,
    BundleManifest,
    BundleWheel,
)
from synapse_sdk.plugins.executors.ray._packaging import IGNORE_FILE, IgnoreRules
from synapse_sdk.plugins.executors.ray._runtime_env import read_requirements
from synapse_sdk.plugins.publish import Release, format_size, prepare_release
from synapse_sdk.utils.redact import sanitize_urls

__all__ = ['PIP_TIMEOUT_SECONDS', 'Bundle', 'build_bundle', 'bundle_name']

#: How long ``pip download`` may take before packaging gives up.
PIP_TIMEOUT_SECONDS = 900
_REQUIREMENTS = 'requirements.txt'
_EPOCH = (1980, 1, 1, 0, 0, 0)
_PIP_LINES_SHOWN = 8


@dataclass(frozen=True)
class Bundle:
    """A bundle written by :func:`build_bundle`."""

    path: Path
    manifest: BundleManifest
    release: Release  #: the checked plugin, with the archive ``publish`` would upload
    size: int  #: bytes of the bundle file
    sha256: str  #: of the bundle file, in hex


def bundle_name(code: str, version: str) -> str:
    """``<code>-<version>.synapse.zip``."""
    return f'{_safe_name(code)}-{_safe_name(version)}{BUNDLE_SUFFIX}'


def build_bundle(path: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None = None) -> Bundle:
    """Check the plugin at ``path``, download its requirements' wheels and write the bundle into ``output_dir``.

    ``output_dir`` defaults to the current directory. Nothing is written there until every check passed.

    Raises:
        ConfigError: config.yaml or a requirements.txt line is invalid (the line named).
        PluginError: the plugin cannot be packaged; ``details['problems']`` lists every reason (the
            publish checks, a wheel folder ``.synapseignore`` would leave out, ``pip download``
            failing, a bundle over a limit).
    """
    try:
        release = prepare_release(path)
    except PluginError as exc:
        problems = exc.details.get('problems')
        if not problems:
            raise
        _fail(str(exc.details.get('release', '?')), list(problems), exc)
    label = f'{release.code}@{release.version}'
    root = release.manifest.root
    requirements = read_requirements(root / _REQUIREMENTS)
    _refuse(label, _layout_problems(release))
    with tempfile.TemporaryDirectory(prefix='synapse-package-') as tmp:
        scratch = Path(tmp)
        needed = any(not line.startswith('-') for line in requirements)  # options alone need no download
        wheels = _download(root, scratch / 'wheels', label) if needed else []
        manifest = BundleManifest(
            code=release.code,
            version=release.version,
            python=_interpreter_tag(),
            python_version='.'.join(map(str, sys.version_info[:3])),
            platform=sysconfig.get_platform(),
            plugin_sha256=release.sha256,
            requirements=requirements,
            wheels=[_wheel_entry(wheel) for wheel in wheels],
        )
        with zipfile.ZipFile(io.BytesIO(release.archive)) as plugin_archive:
            plugin_files = plugin_archive.infolist()
        _refuse(label, _size_problems(release, plugin_files, wheels))
        staged = scratch / bundle_name(release.code, release.version)
        _write_bundle(staged, release, manifest, wheels)
        size = staged.stat().st_size
        limit = _limit('download')
        if size > limit:
            _refuse(
                label,
                [
                    f'the bundle would be {format_size(size)} (limit {format_size(limit)}); fix: leave large files '
                    f'out with {IGNORE_FILE}, trim requirements.txt, or set {LIMITS["download"][0]} to raise the '
                    'limit (where it runs too)'
                ],
            )
        digest = _sha256(staged)
        out_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / staged.name
        partial = out_dir / f'.{staged.name}.{os.getpid()}.tmp'
        try:
            shutil.copyfile(staged, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return Bundle(target.resolve(), manifest, release, size, digest)


def _refuse(label: str, problems: list[str]) -> None:
    if problems:
        _fail(label, problems)


def _fail(label: str, problems: list[str], cause: BaseException | None = None) -> NoReturn:
    count = f'{len(problems)} problem' + ('s' if len(problems) > 1 else '')
    raise PluginError(
        f'Cannot package {label} ({count}):\n' + '\n'.join(problems), {'release': label, 'problems': problems}
    ) from cause


def _layout_problems(release: Release) -> list[str]:
    """The wheels ship inside the plugin folder, under ``_synapse_wheels/``: it must be free, and shipped."""
    problems = []
    root = release.manifest.root
    if (root / SHIPPED_WHEELS).exists():
        problems.append(f'{SHIPPED_WHEELS} is reserved for the wheels of a bundle; fix: rename {root / SHIPPED_WHEELS}')
    rules = IgnoreRules.for_dir(root)
    if rules.excluded(SHIPPED_WHEELS, is_dir=True) or rules.excluded(f'{SHIPPED_WHEELS}/x-1.0-py3-none-any.whl'):
        problems.append(
            f'{IGNORE_FILE} leaves out {SHIPPED_WHEELS}/ (where the bundle keeps its wheels, so they travel with '
            f"the plugin); fix: add '!{SHIPPED_WHEELS}/' and '!{SHIPPED_WHEELS}/*.whl' at the end of {IGNORE_FILE}"
        )
    return problems


def _download(root: Path, destination: Path, label: str) -> list[Path]:
    """The wheels of ``requirements.txt`` and their dependencies, for this interpreter and platform."""
    destination.mkdir(parents=True)
    command = [
        sys.executable,
        '-m',
        'pip',
        'download',
        '--only-binary=:all:',
        '--disable-pip-version-check',
        '--no-input',
        '--progress-bar',
        'off',
        '--dest',
        str(destination),
        '--requirement',
        _REQUIREMENTS,
    ]
    try:
        done = subprocess.run(
            command, cwd=root, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        _fail(label, [f'pip download did not finish within {PIP_TIMEOUT_SECONDS} s; fix: check the package index'])
    if done.returncode != 0:
        _refuse(label, [_pip_failure(done)])
    others = sorted(p.name for p in destination.iterdir() if p.suffix != '.whl')
    if others:  # --only-binary=:all: should make this impossible; refuse rather than ship a source archive
        _refuse(label, [f'pip downloaded files that are not wheels: {", ".join(others)}'])
    return sorted(destination.glob('*.whl'))


def _pip_failure(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stderr or done.stdout or '').splitlines() if line.strip()]
    shown = ' | '.join(sanitize_urls(line) for line in lines[-_PIP_LINES_SHOWN:]) or 'no output'
    if 'pip' in shown and 'No module named' in shown:
        return f'this interpreter ({sys.executable}) has no pip; fix: python -m ensurepip'
    return (
        f'pip download of {_REQUIREMENTS} failed (exit {done.returncode}): {shown}; fix: correct the requirement '
        'pip names; a package with no wheel for this Python and platform can be built with '
        '`pip wheel <package>` and listed in requirements.txt as ./wheels/<file>.whl'
    )


def _interpreter_tag() -> str:
    from packaging.tags import interpreter_name, interpreter_version

    return f'{interpreter_name()}{interpreter_version()}'


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open('rb') as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _wheel_entry(wheel: Path) -> BundleWheel:
    return BundleWheel(file=wheel.name, sha256=_sha256(wheel), size=wheel.stat().st_size)


def _size_problems(release: Release, plugin_files: list[zipfile.ZipInfo], wheels: list[Path]) -> list[str]:
    """The bundle unpacks into the state dir: its member count and unpacked size within the runner's limits."""
    problems = []
    members = len(plugin_files) + len(wheels) + 1
    limit = _limit('members')
    if members > limit:
        problems.append(
            f'the bundle would hold {members} files (limit {limit}); fix: leave some out with {IGNORE_FILE}, '
            f'or set {LIMITS["members"][0]} to raise the limit (where it runs too)'
        )
    sizes = {f'{WHEELS_PREFIX}{w.name}': w.stat().st_size for w in wheels}
    total = release.manifest.total_size + sum(sizes.values())
    limit = _limit('unpacked')
    if total > limit:
        largest = ', '.join(
            f'{name} ({format_size(size)})' for name, size in sorted(sizes.items(), key=lambda i: -i[1])[:3]
        )
        problems.append(
            f'the bundle would unpack to {format_size(total)} (limit {format_size(limit)})'
            + (f', the largest wheels: {largest}' if largest else '')
            + f'; fix: trim requirements.txt or leave files out with {IGNORE_FILE}, or set '
            f'{LIMITS["unpacked"][0]} to raise the limit (where it runs too)'
        )
    return problems


def _write_bundle(target: Path, release: Release, manifest: BundleManifest, wheels: list[Path]) -> None:
    """A deterministic zip: the manifest, then the plugin archive's files under ``plugin/``, then the wheels."""
    with zipfile.ZipFile(target, 'w') as out, zipfile.ZipFile(io.BytesIO(release.archive)) as plugin:
        _add(out, MANIFEST_FILE, manifest.model_dump_json(indent=2).encode(), 0o644, zipfile.ZIP_DEFLATED)
        for info in plugin.infolist():
            mode = (info.external_attr >> 16) & 0o777 or 0o644
            _add(out, f'{PLUGIN_PREFIX}{info.filename}', plugin.read(info), mode, zipfile.ZIP_DEFLATED)
        for wheel in wheels:  # wheels are zips already: stored, not compressed again
            info = zipfile.ZipInfo(f'{WHEELS_PREFIX}{wheel.name}', date_time=_EPOCH)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_STORED
            with wheel.open('rb') as source, out.open(info, 'w') as sink:
                shutil.copyfileobj(source, sink, 1 << 20)


def _add(out: zipfile.ZipFile, name: str, data: bytes, mode: int, compression: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = compression
    out.writestr(info, data)
