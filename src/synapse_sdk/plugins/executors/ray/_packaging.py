"""Packaging a plugin's working directory for Ray: which files ship, and the archive itself.

A file ships unless ``.synapseignore`` (gitignore-style lines) or the built-in rules exclude it.
Credentials, params files, ``.git`` and caches never ship, whatever ``.synapseignore`` says. The
archive is a deterministic zip (sorted entries, fixed timestamps and modes), so identical content
gives identical bytes and Ray's content-addressed upload (``gcs://_ray_pkg_<hash>.zip``) is
reused across runs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import secrets as secrets_lib
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    'ALWAYS_EXCLUDED',
    'IGNORE_FILE',
    'PARAMS_FILE',
    'SECRETS_FILE',
    'SECRETS_MODULE_FILE',
    'SECRETS_MODULE_PREFIX',
    'IgnoreRules',
    'build_archive',
    'package_files',
    'secrets_module',
]

IGNORE_FILE = '.synapseignore'
#: Large params travel in this file, next to the plugin code in the job's archive.
PARAMS_FILE = '.synapse_params.json'
#: An old name of the worker's credentials file: never shipped from a plugin folder.
SECRETS_FILE = '.synapse_secrets.json'
#: A job's credentials travel in a package of its own (a Ray ``py_modules`` entry named with this
#: prefix and a random suffix, holding only ``secrets.json``): never in the plugin's shared working
#: dir, env vars or the entrypoint. The worker reads the file and deletes it before the action runs, and
#: drops the package from the runtime env the job's own tasks inherit (docs/ray.md).
SECRETS_MODULE_PREFIX = '_synapse_run_'
SECRETS_MODULE_FILE = 'secrets.json'

#: Never shipped, whatever ``.synapseignore`` says (``!`` lines cannot bring them back).
ALWAYS_EXCLUDED: tuple[str, ...] = (
    # version control and caches
    '.git/',
    '.hg/',
    '.svn/',
    '__pycache__/',
    '*.pyc',
    '.pytest_cache/',
    '.mypy_cache/',
    '.ruff_cache/',
    '.venv/',
    'venv/',
    '.tox/',
    '.ipynb_checkpoints/',
    'node_modules/',
    '*.egg-info/',
    '.DS_Store',
    # our own per-run files, and bundles of `synapse plugin package` (written next to the plugin)
    PARAMS_FILE,
    SECRETS_FILE,
    '*.synapse.zip',
    # credentials
    '.env',
    '.env.*',
    '*.pem',
    '*.key',
    '*.p12',
    '*.pfx',
    'id_rsa*',
    'id_ed25519*',
    '.netrc',
    '.pypirc',
    '.git-credentials',
    '.npmrc',
    'credentials.json',
    'auth_token',
    '.synapse/',
    '.ray/',
    '.aws/',
    '.ssh/',
    '.kube/',
    '.docker/',
    '*.jks',
    '*.keystore',
)


@dataclass(frozen=True)
class _Rule:
    pattern: str
    negated: bool
    dir_only: bool
    anchored: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(rel, self.pattern)
        name = rel.rsplit('/', 1)[-1]
        return fnmatch.fnmatchcase(name, self.pattern) or fnmatch.fnmatchcase(rel, f'*/{self.pattern}')


def _parse(line: str) -> _Rule | None:
    text = line.rstrip('\n').rstrip()
    if not text or text.startswith('#'):
        return None
    negated = text.startswith('!')
    if negated:
        text = text[1:]
    if text.startswith('\\'):
        text = text[1:]
    dir_only = text.endswith('/')
    text = text.rstrip('/')
    anchored = '/' in text
    text = text.lstrip('/')
    if text.startswith('**/'):
        text, anchored = text[3:], '/' in text[3:]
    if not text:
        return None
    return _Rule(text.replace('**', '*'), negated, dir_only, anchored)


class IgnoreRules:
    """gitignore-style rules: later lines win, ``!`` re-includes, ``dir/`` matches directories only.

    A pattern without a ``/`` matches a name at any depth; one with a ``/`` is relative to the
    plugin root. ``*`` matches within and across path segments (``**`` is accepted as ``*``).
    """

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._always = [rule for rule in map(_parse, ALWAYS_EXCLUDED) if rule is not None]
        self._rules = [rule for rule in map(_parse, lines) if rule is not None]

    @classmethod
    def for_dir(cls, plugin_dir: Path) -> IgnoreRules:
        """The built-in rules plus the plugin's ``.synapseignore`` (when present)."""
        file = plugin_dir / IGNORE_FILE
        try:
            lines = file.read_text(encoding='utf-8').splitlines()
        except FileNotFoundError:
            lines = []
        return cls(lines)

    def excluded(self, rel: str, is_dir: bool = False) -> bool:
        """Whether the path (relative, ``/``-separated) is left out."""
        if any(rule.matches(rel, is_dir) for rule in self._always):
            return True
        verdict = False
        for rule in self._rules:
            if rule.matches(rel, is_dir):
                verdict = not rule.negated
        return verdict


def package_files(plugin_dir: str | os.PathLike[str]) -> list[str]:
    """Relative ``/``-separated paths of the files that ship, sorted.

    Symlinks to files are followed; symlinked directories are not entered (they could point
    anywhere, including at credentials).
    """
    root = Path(plugin_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f'Working directory not found: {root}')
    rules = IgnoreRules.for_dir(root)
    found: list[str] = []
    for current, dirs, files in os.walk(root):
        base = Path(current).relative_to(root).as_posix()
        prefix = '' if base == '.' else f'{base}/'
        dirs[:] = sorted(
            d for d in dirs if not (Path(current, d).is_symlink() or rules.excluded(f'{prefix}{d}', is_dir=True))
        )
        for name in files:
            rel = f'{prefix}{name}'
            if not rules.excluded(rel) and Path(current, name).is_file():
                found.append(rel)
    return sorted(found)


_EPOCH = (1980, 1, 1, 0, 0, 0)


def build_archive(
    plugin_dir: str | os.PathLike[str] | None,
    destination: str | os.PathLike[str],
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a deterministic zip of the plugin's shipped files (plus ``extra_files``) and return its path.

    The archive is named ``synapse_pkg_<sha256 prefix>.zip`` inside ``destination`` and written
    atomically (temp file + rename); an existing archive with the same name is reused.
    """
    entries: list[tuple[str, Path | bytes]] = []
    if plugin_dir is not None:
        root = Path(plugin_dir).resolve()
        entries += [(rel, root / rel) for rel in package_files(root)]
    shipped = {rel for rel, _ in entries}
    for rel, content in sorted((extra_files or {}).items()):
        if rel in shipped:
            raise ValueError(f'{rel} would overwrite a file of the plugin; rename or ignore that file')
        entries.append((rel, content))
    entries.sort(key=lambda item: item[0])
    digest = hashlib.sha256()
    for rel, source in entries:
        data = source if isinstance(source, bytes) else source.read_bytes()
        digest.update(rel.encode() + b'\0' + hashlib.sha256(data).digest())
    out_dir = Path(destination)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f'synapse_pkg_{digest.hexdigest()[:32]}.zip'
    if target.exists():
        return target
    tmp = target.with_suffix(f'.{os.getpid()}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as raw, zipfile.ZipFile(raw, 'w', zipfile.ZIP_DEFLATED) as zf:
        for rel, source in entries:
            data = source if isinstance(source, bytes) else source.read_bytes()
            info = zipfile.ZipInfo(rel, date_time=_EPOCH)
            executable = not isinstance(source, bytes) and os.access(source, os.X_OK)
            mode = 0o755 if executable else 0o644
            if rel == SECRETS_FILE:
                mode = 0o600
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    os.replace(tmp, target)
    return target


def secrets_module(
    secrets: Mapping[str, str],
    destination: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    allow_unknown: bool | None = None,
) -> tuple[str, Path]:
    """Write a one-job package of credentials and params under ``destination``; returns its name and folder.

    The file is ``{"run": <name>, "secrets": {...}, "params": {...}}`` with a random name: Ray names a
    package by the hash of its files (not of its folder's name), so the name inside makes every job's
    package distinct and its URI says nothing about the content. Params travel here, not in env vars,
    the entrypoint or metadata (which Ray shows and logs), as a param may hold a secret.
    """
    name = f'{SECRETS_MODULE_PREFIX}{secrets_lib.token_hex(16)}'
    folder = Path(destination) / 'synapse-secrets' / name
    folder.mkdir(parents=True, mode=0o700)
    content: dict[str, Any] = {'run': name, 'secrets': dict(secrets)}
    if params is not None:
        content['params'] = dict(params)
    if allow_unknown is not None:
        content['allow_unknown'] = allow_unknown
    fd = os.open(folder / SECRETS_MODULE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as file:
        json.dump(content, file, separators=(',', ':'))
    return name, folder
