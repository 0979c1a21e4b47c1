"""Publishing a plugin: the checks a release must pass, and the archive it ships.

:func:`prepare_release` reads ``config.yaml`` with the config loader and checks what the backend
and the runner of published plugins rely on: a semantic version, every action's entrypoint
importing (and its module shipping), a config that JSON can carry, limits the runner accepts. It
reports every problem at once, one line each, naming the action, the entrypoint and the fix.

What ships is decided by the Ray packaging rules (``.synapseignore`` plus the built-in excludes:
credentials, params files, ``.git``, virtualenvs and caches never ship); :func:`plugin_manifest`
also says, for each path left out, which rule left it out. The archive is the same deterministic
zip Ray receives, with ``config.yaml`` at its top level, as :mod:`synapse_sdk.plugins._remote`
unpacks it. Uploading is the caller's (``synapse plugin publish``): this module talks to no backend.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from synapse_sdk.enums import RunMethod
from synapse_sdk.exceptions import ActionDefinitionError, ConfigError, PluginError
from synapse_sdk.plugins._config_file import CONFIG_FILE, config_path, parse_yaml
from synapse_sdk.plugins._function_action import is_action
from synapse_sdk.plugins._loading import import_plugin_module
from synapse_sdk.plugins._remote import LIMITS, _limit
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.config import ActionConfig, PluginConfig, load_config, parse_entrypoint
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.executors.ray._packaging import (
    ALWAYS_EXCLUDED,
    IGNORE_FILE,
    IgnoreRules,
    build_archive,
    package_files,
)
from synapse_sdk.utils.redact import redact

__all__ = [
    'ExcludedPath',
    'Manifest',
    'Release',
    'ShippedFile',
    'format_size',
    'is_semver',
    'plugin_manifest',
    'prepare_release',
]

#: Semantic Versioning 2.0.0 (semver.org's own expression): no leading zeros, dot-separated identifiers.
_SEMVER = re.compile(
    r'^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)'
    r'(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?'
    r'(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$'
)
_LOOSE_VERSION = re.compile(r'^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?$')
_LARGEST_SHOWN = 3


@dataclass(frozen=True)
class ShippedFile:
    """A file the archive holds."""

    path: str  #: relative to the plugin folder, ``/``-separated
    size: int  #: bytes


@dataclass(frozen=True)
class ExcludedPath:
    """A file or folder left out of the archive, and the rule that left it out."""

    path: str  #: relative, ``/``-separated; a folder ends with ``/`` (nothing under it ships)
    reason: str  #: ``built-in default '.env'``, ``.synapseignore line 3: 'tests/'``, ...
    files: int = 1  #: the files under a folder (not entered when it is a symbolic link)


@dataclass(frozen=True)
class Manifest:
    """What a plugin folder ships, and what it leaves out."""

    root: Path
    shipped: tuple[ShippedFile, ...]
    excluded: tuple[ExcludedPath, ...]

    @property
    def total_size(self) -> int:
        """The sum of the shipped files' sizes (what unpacking the archive writes)."""
        return sum(item.size for item in self.shipped)

    def exclusion(self, path: str) -> ExcludedPath | None:
        """The entry that leaves ``path`` out (its own, or its folder's), or None when it is not left out."""
        for item in self.excluded:
            if item.path == path or (item.path.endswith('/') and path.startswith(item.path)):
                return item
        return None


@dataclass(frozen=True)
class Release:
    """A checked plugin, ready to upload as ``code@version``."""

    code: str
    version: str
    config: dict[str, Any]  #: the whole of config.yaml, as written
    manifest: Manifest
    archive: bytes  #: the zip: deterministic, so the same files give the same bytes

    @property
    def sha256(self) -> str:
        """The archive's SHA-256, in hex."""
        return hashlib.sha256(self.archive).hexdigest()


def is_semver(version: str) -> bool:
    """Whether ``version`` is a semantic version: ``MAJOR.MINOR.PATCH[-prerelease][+build]``."""
    return bool(_SEMVER.match(version))


def format_size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``."""
    if count < 1024:
        return f'{count} B'
    value = float(count)
    for unit in ('KiB', 'MiB', 'GiB'):
        value /= 1024
        if value < 1024 or unit == 'GiB':
            break
    return f'{value:.1f} {unit}'


# --------------------------------------------------------------------------- what ships


def plugin_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The files of the plugin at ``path`` (a folder or its config.yaml) that ship, and the rest with the rule.

    The shipped list is :func:`~synapse_sdk.plugins.executors.ray._packaging.package_files`'s; a folder
    left out is one entry (nothing under it is looked at but its file count).
    """
    location = Path(path)
    root = (location.parent if location.is_file() else location).resolve()
    shipped = package_files(root)
    explain = _Explainer(root)
    excluded: list[ExcludedPath] = []
    kept = set(shipped)
    for current, dirs, files in os.walk(root):
        base = Path(current).relative_to(root).as_posix()
        prefix = '' if base == '.' else f'{base}/'
        entered = []
        for name in sorted(dirs):
            rel, folder = f'{prefix}{name}', Path(current, name)
            if folder.is_symlink():
                excluded.append(ExcludedPath(f'{rel}/', 'a symbolic link to a folder (never followed)', 0))
            elif explain.rules.excluded(rel, is_dir=True):
                excluded.append(ExcludedPath(f'{rel}/', explain.reason(rel, is_dir=True), _count_files(folder)))
            else:
                entered.append(name)
        dirs[:] = entered
        excluded += [
            ExcludedPath(f'{prefix}{n}', explain.reason(f'{prefix}{n}')) for n in files if f'{prefix}{n}' not in kept
        ]
    files_shipped = tuple(ShippedFile(rel, (root / rel).stat().st_size) for rel in shipped)
    return Manifest(root, files_shipped, tuple(sorted(excluded, key=lambda item: item.path)))


class _Explainer:
    """Which rule leaves a path out: the verdict is ``IgnoreRules``'; this only names the rule."""

    def __init__(self, root: Path) -> None:
        self.rules = IgnoreRules.for_dir(root)
        self._builtin = IgnoreRules()
        try:  # read as IgnoreRules.for_dir reads it, keeping the line numbers
            lines = (root / IGNORE_FILE).read_text(encoding='utf-8').splitlines()
        except FileNotFoundError:
            lines = []
        self._lines = [(number, line.strip(), IgnoreRules([_positive(line)])) for number, line in enumerate(lines, 1)]

    def reason(self, rel: str, is_dir: bool = False) -> str:
        if not self.rules.excluded(rel, is_dir):
            return 'not a regular file (a broken symbolic link, a socket, ...)'
        if self._builtin.excluded(rel, is_dir):
            name = rel.rsplit('/', 1)[-1]
            pattern = next((p for p in ALWAYS_EXCLUDED if _builtin_matches(p, name, is_dir)), None)
            return f"built-in default '{pattern}'" if pattern else 'built-in default'
        for number, line, rule in reversed(self._lines):
            if rule.excluded(rel, is_dir):  # the last line that matches decides
                return f"{IGNORE_FILE} line {number}: '{line}'"
        return IGNORE_FILE


def _positive(line: str) -> str:
    """The line without its ``!``: whether it matches a path, whatever it then decides."""
    text = line.rstrip()
    if not text.startswith('!'):
        return text
    rest = text[1:]
    return rest if rest.startswith('\\') else f'\\{rest}'


def _builtin_matches(pattern: str, name: str, is_dir: bool) -> bool:
    dir_only = pattern.endswith('/')
    return (is_dir or not dir_only) and fnmatch.fnmatchcase(name, pattern.rstrip('/'))


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


# --------------------------------------------------------------------------- checks


def prepare_release(path: str | os.PathLike[str]) -> Release:
    """Check the plugin at ``path`` (a folder or its config.yaml) and build the archive to publish.

    Raises:
        ConfigError: config.yaml cannot be read or is invalid (the loader's error, naming the line).
        PluginError: the plugin cannot be published; ``details['problems']`` lists every problem,
            one line each (a version that is not semantic, an action whose entrypoint does not
            import or does not ship, a value JSON cannot carry, an archive over a limit).
    """
    file = config_path(Path(path))
    with warnings.catch_warnings():  # a version that is not X.Y.Z is reported below, as an error
        warnings.filterwarnings('ignore', message=r'config\.yaml: version ', category=FutureWarning)
        config = load_config(file)
    raw, _ = parse_yaml(file)
    manifest = plugin_manifest(file)
    problems = _config_problems(file, config, raw, manifest)
    problems += _entrypoint_problems(config, manifest)
    problems += _size_problems(manifest)
    label = f'{config.code}@{config.version}'
    _raise_problems(label, problems)
    with tempfile.TemporaryDirectory(prefix='synapse-publish-') as tmp:
        archive = build_archive(manifest.root, tmp).read_bytes()
    limit = _limit('download')
    if len(archive) > limit:
        _raise_problems(
            label,
            [
                f'the archive is {format_size(len(archive))} (limit {format_size(limit)}); fix: leave large files '
                f'out with {IGNORE_FILE}, or set {LIMITS["download"][0]} to raise the limit (where it runs too)'
            ],
        )
    return Release(config.code, config.version, raw, manifest, archive)


def _raise_problems(label: str, problems: list[str]) -> None:
    if problems:
        count = f'{len(problems)} problem' + ('s' if len(problems) > 1 else '')
        raise PluginError(
            f'Cannot publish {label} ({count}):\n' + '\n'.join(problems),
            {'release': label, 'problems': problems},
        )


def _config_problems(file: Path, config: PluginConfig, raw: dict[str, Any], manifest: Manifest) -> list[str]:
    problems = []
    version = _version_problem(raw)
    if version:
        problems.append(version)
    try:
        config.check_publishable()
    except ConfigError as exc:
        problems.append(str(exc))
    unjson = _json_problem(raw, '')
    if unjson:
        problems.append(f'{CONFIG_FILE}: {unjson}')
    if file.name != CONFIG_FILE:
        problems.append(
            f'{file.name}: a release needs its config as {CONFIG_FILE}; fix: rename {file.name} to {CONFIG_FILE}'
        )
    elif (left_out := manifest.exclusion(CONFIG_FILE)) is not None:
        problems.append(f'{CONFIG_FILE} is left out of the archive ({left_out.reason}); fix: {_unignore(left_out)}')
    return problems


def _version_problem(raw: dict[str, Any]) -> str | None:
    value = raw.get('version')
    if value is None:
        return f"{CONFIG_FILE} has no version; fix: add 'version: 0.1.0' (MAJOR.MINOR.PATCH)"
    text = str(value)
    if isinstance(value, str) and is_semver(text):
        return None
    loose = _LOOSE_VERSION.match(text)
    suggestion = '.'.join(str(int(part or 0)) for part in loose.groups()) if loose else '1.0.0'
    number = '' if isinstance(value, str) else f' (YAML reads it as the number {value!r}: quote the version)'
    return (
        f"version '{text}' is not a semantic version (MAJOR.MINOR.PATCH with optional -prerelease and +build, "
        f"e.g. 1.0.0 or 1.0.0-rc.1){number}; fix: set version: '{suggestion}' in {CONFIG_FILE}"
    )


def _json_problem(value: Any, where: str) -> str | None:
    """What in config.yaml JSON cannot carry as it is (a date, a set, a number key), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f'{where or "the top level"} has the key {key!r}, which is not text; fix: quote it'
            found = _json_problem(item, f'{where}.{key}' if where else key)
            if found:
                return found
        return None
    if isinstance(value, list):
        return next((p for i, item in enumerate(value) if (p := _json_problem(item, f'{where}[{i}]'))), None)
    if value is None or isinstance(value, str | int) or (isinstance(value, float) and math.isfinite(value)):
        return None
    return f"'{where}' holds {type(value).__name__} {value!r}, which JSON cannot carry; fix: quote it in YAML"


def _size_problems(manifest: Manifest) -> list[str]:
    problems = []
    members = _limit('members')
    if len(manifest.shipped) > members:
        problems.append(
            f'the archive would hold {len(manifest.shipped)} files (limit {members}); fix: leave some out with '
            f'{IGNORE_FILE}, or set {LIMITS["members"][0]} to raise the limit (where it runs too)'
        )
    unpacked = _limit('unpacked')
    if manifest.total_size > unpacked:
        largest = sorted(manifest.shipped, key=lambda item: -item.size)[:_LARGEST_SHOWN]
        shown = ', '.join(f'{item.path} ({format_size(item.size)})' for item in largest)
        problems.append(
            f'the files to ship add up to {format_size(manifest.total_size)} (limit {format_size(unpacked)}), '
            f'the largest: {shown}; fix: leave them out with {IGNORE_FILE} (model weights belong in models/), '
            f'or set {LIMITS["unpacked"][0]} to raise the limit (where it runs too)'
        )
    return problems


# --------------------------------------------------------------------------- entrypoints


def _entrypoint_problems(config: PluginConfig, manifest: Manifest) -> list[str]:
    """One line per action whose entrypoint does not import, is not an action, or does not ship."""
    discovery = PluginDiscovery(config, path=manifest.root)
    problems = []
    for key, spec in config.actions.items():
        problem = _entrypoint_problem(discovery, key, spec, manifest)
        if problem:
            problems.append(f"action '{key}': {problem}")
    return problems


def _entrypoint_problem(discovery: PluginDiscovery, key: str, spec: ActionConfig, manifest: Manifest) -> str | None:
    if not spec.entrypoint:
        return f"no entrypoint; fix: add 'entrypoint: plugin.module:Name' under actions.{key} in {CONFIG_FILE}"
    label = f"entrypoint '{spec.entrypoint}'"
    module_name, attr = parse_entrypoint(spec.entrypoint)
    try:
        module = import_plugin_module(
            module_name, manifest.root, entrypoint=spec.entrypoint, label=f" of action '{key}'"
        )
    except ActionDefinitionError as exc:
        return f'{label}: {_import_failure(module_name, exc.__cause__, manifest.root)}'
    if not hasattr(module, attr):
        where = _relative(module, manifest.root) or module_name
        return (
            f"{label}: module '{module_name}' has no attribute '{attr}'; "
            f'fix: define {attr} in {where} or correct the entrypoint'
        )
    target = getattr(module, attr)
    if spec.method is not RunMethod.SERVE:  # a serve entrypoint may be any class (a Ray Serve deployment)
        if not is_action(target):
            return f'{label}: {_not_an_action(target)}'
        try:
            discovery.get_action_class(key)
        except (ActionDefinitionError, ConfigError) as exc:
            return f'{label}: {redact(str(exc))}; fix: correct the action as the message says'
    return _shipping_problem(module, manifest, label)


def _import_failure(module_name: str, cause: BaseException | None, root: Path) -> str:
    if isinstance(cause, SystemExit):
        return f"module '{module_name}' calls sys.exit() while it is imported; fix: raise an exception instead"
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        missing = cause.name
        if module_name == missing or module_name.startswith(f'{missing}.'):
            file = missing.replace('.', '/')
            return (
                f"module '{missing}' not found in {root}; "
                f'fix: create {file}.py (or {file}/__init__.py) or correct the entrypoint'
            )
        return (
            f"module '{module_name}' imports '{missing}', which is not installed; "
            f'fix: pip install {missing.partition(".")[0]} (and list it in requirements.txt)'
        )
    what = f'{type(cause).__name__}: {redact(" ".join(str(cause).split()))}' if cause else 'it does not import'
    return (
        f"module '{module_name}' fails to import: {what}; "
        f'fix: correct it (`python -c "import {module_name}"` in the plugin folder shows the traceback)'
    )


def _not_an_action(target: object) -> str:
    if isinstance(target, type) and issubclass(target, BaseAction):
        missing = ', '.join(sorted(getattr(target, '__abstractmethods__', ()))) or 'its abstract methods'
        return f'class {target.__name__} is abstract; fix: implement {missing}'
    if isinstance(target, type):
        return (
            f'class {target.__name__} is not a BaseAction subclass; fix: subclass BaseAction, '
            "or set 'method: serve' for a Ray Serve deployment"
        )
    if callable(target):
        return f'function {getattr(target, "__name__", target)!r} is not an action; fix: decorate it with @action'
    return (
        f'{type(target).__name__} {target!r} is not an action; '
        'fix: point it at a BaseAction subclass or an @action function'
    )


def _shipping_problem(module: ModuleType, manifest: Manifest, label: str) -> str | None:
    """The entrypoint's module file (and its packages' ``__init__.py``) must be in the archive."""
    rel = _relative(module, manifest.root)
    if rel is None:
        return None  # an installed module, not the plugin's: the plugin's requirements provide it
    needed = [rel]
    folder = Path(rel).parent
    while folder != Path('.'):
        init = (folder / '__init__.py').as_posix()
        if (manifest.root / init).is_file():
            needed.append(init)
        folder = folder.parent
    for item in needed:
        left_out = manifest.exclusion(item)
        if left_out is not None:
            return f'{label}: {item} is left out of the archive ({left_out.reason}); fix: {_unignore(left_out, item)}'
    return None


def _relative(module: ModuleType, root: Path) -> str | None:
    file = getattr(module, '__file__', None)
    if not file:
        return None
    resolved = Path(file).resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else None


def _unignore(left_out: ExcludedPath, rel: str = CONFIG_FILE) -> str:
    """How to bring ``rel`` back into the archive, given the entry that leaves it out."""
    rule = left_out.reason.partition(':')[0]
    if not rule.startswith(IGNORE_FILE):
        return 'rename it: built-in defaults cannot be overridden' if rule.startswith('built-in') else 'make it a file'
    if left_out.path.endswith('/'):  # files under a folder left out cannot be re-included
        return f'remove {rule}, or narrow it so that {left_out.path} is not matched'
    return f"remove {rule}, or add '!{rel}' after it"
