"""Which files of a storage make which data units: flat, recursive, or by each file specification's pattern.

Files are grouped into data units by stem (their path under the upload folder without the suffix);
the unit's key is that stem, which is how a re-run finds units an earlier run created.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from synapse_sdk.exceptions import SynapseError
from synapse_sdk.utils.storage import Storage

__all__ = ['DiscoveryError', 'FileSpec', 'Plan', 'UnitPlan', 'discover']


class DiscoveryError(SynapseError, ValueError):
    """The storage's files cannot be mapped to the collection's file specifications as asked."""


@dataclass(frozen=True)
class FileSpec:
    name: str
    is_primary: bool = False
    is_required: bool = False
    extensions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FileSpec:
        exts = tuple(str(e).lower().lstrip('.') for e in raw.get('extensions') or ())
        return cls(str(raw['name']), bool(raw.get('is_primary')), bool(raw.get('is_required')), exts)


@dataclass
class UnitPlan:
    """One data unit to make: ``files`` maps a spec name to a path relative to the storage root."""

    key: str
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    units: list[UnitPlan]
    incomplete: list[str]  #: keys missing a required spec


def primary_spec(specs: Sequence[FileSpec]) -> FileSpec:
    if not specs:
        raise DiscoveryError('the data collection has no file specifications: add one (e.g. image, is_primary)')
    return next((s for s in specs if s.is_primary), specs[0])


def _spec_by_extension(specs: Sequence[FileSpec], primary: FileSpec, name: str) -> FileSpec | None:
    suffix = PurePosixPath(name).suffix.lower().lstrip('.')
    if not any(s.extensions for s in specs):
        return primary
    return next((s for s in specs if suffix in s.extensions), None)


def _stem_key(rel: str) -> str:
    path = PurePosixPath(rel)
    return str(path.with_suffix('')) if path.suffix else str(path)


def _add(units: dict[str, UnitPlan], key: str, spec: str, path: str) -> None:
    unit = units.setdefault(key, UnitPlan(key))
    if spec in unit.files:
        raise DiscoveryError(
            f"data unit '{key}': both {unit.files[spec]!r} and {path!r} match file specification '{spec}'; "
            'rename one or narrow the pattern'
        )
    unit.files[spec] = path


def _by_extension(
    storage: Storage, prefix: str, recursive: bool, specs: Sequence[FileSpec], primary: FileSpec
) -> dict[str, UnitPlan]:
    units: dict[str, UnitPlan] = {}
    for rel in storage.files(prefix, recursive=recursive):
        spec = _spec_by_extension(specs, primary, rel)
        if spec is not None:  # a file no specification accepts is not uploaded
            _add(units, _stem_key(_under(prefix, rel)), spec.name, rel)
    return units


def _by_patterns(
    storage: Storage, prefix: str, specs: Sequence[FileSpec], primary: FileSpec, patterns: Mapping[str, str]
) -> dict[str, UnitPlan]:
    known = {s.name for s in specs}
    unknown = sorted(set(patterns) - known)
    if unknown:
        raise DiscoveryError(f'spec_patterns: {unknown} are not file specifications; use some of {sorted(known)}')
    if not patterns:
        raise DiscoveryError("discovery='spec' needs spec_patterns, e.g. {'image': 'images/*.jpg'}")
    missing = [s.name for s in specs if (s.is_required or s is primary) and s.name not in patterns]
    if missing:
        raise DiscoveryError(f'spec_patterns: no pattern for required file specification(s) {missing}')
    units: dict[str, UnitPlan] = {}
    every = storage.files(prefix, recursive=True)
    for spec_name, pattern in patterns.items():
        for rel in every:
            if fnmatch.fnmatchcase(_under(prefix, rel), pattern):
                _add(units, PurePosixPath(rel).stem, spec_name, rel)
    return units


def _under(prefix: str, rel: str) -> str:
    return rel[len(prefix) + 1 :] if prefix else rel


def discover(
    storage: Storage,
    base: str,
    mode: str,
    specs: Sequence[FileSpec],
    patterns: Mapping[str, str] | None = None,
) -> Plan:
    """The data units the files under ``base`` make, sorted by key.

    ``flat``/``recursive``: each file goes to the specification listing its extension (to the primary one
    when none lists extensions), grouped by its path without suffix. ``spec``: each specification's
    ``fnmatch`` pattern (``*`` spans folders) under ``base``, grouped by file stem.
    """
    primary = primary_spec(specs)
    prefix = base.strip('/')
    if mode in ('flat', 'recursive'):
        units = _by_extension(storage, prefix, mode == 'recursive', specs, primary)
    elif mode == 'spec':
        units = _by_patterns(storage, prefix, specs, primary, patterns or {})
    else:
        raise DiscoveryError(f"discovery: {mode!r} is not one of 'flat', 'recursive', 'spec'")
    required = {s.name for s in specs if s.is_required} | {primary.name}
    complete: list[UnitPlan] = []
    incomplete: list[str] = []
    for key in sorted(units):
        if required <= set(units[key].files):
            complete.append(units[key])
        else:
            incomplete.append(key)
    return Plan(complete, incomplete)
