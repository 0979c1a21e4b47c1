"""Where a COCO dataset keeps its annotation files and its images.

Layouts read (``<split>`` is ``train``, ``valid`` or ``test`` for split folders; any name starting with
``train``, ``val`` or ``test`` for the standard ``annotations/`` folder, e.g. ``train2017``):

- flat: ``annotations.json`` (or ``instances.json``, ``person_keypoints.json``, or the one ``*.json``) with
  the images beside it, in ``images/`` or in ``images/<any folder>/``;
- split folders: ``train/`` and ``valid/`` [``test/``], each laid out as flat, or with its images in
  ``images/<split>/``;
- standard COCO: ``annotations/instances_<split>.json`` (``person_keypoints_<split>.json`` for a split
  without an instances file) with the images in ``<split>/``, ``images/<split>/`` or ``images/``.

An image's ``file_name`` is looked up in each folder of its source in order; an image found in none is
skipped with the folders tried in the message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets.formats import SPLITS

__all__ = ['COCOSource', 'annotation_file', 'locate_sources', 'regular_files']

_NAMES = ('annotations.json', 'instances.json', 'person_keypoints.json')
_STANDARD = re.compile(r'^(instances|person_keypoints)_(?P<name>[^/]+)\.json$')
_KINDS = ('instances', 'person_keypoints')  # preferred first: one file per split is read


@dataclass(frozen=True)
class COCOSource:
    """One annotation file, its split (None when flat) and the folders its images are looked up in."""

    split: str | None
    path: Path
    image_dirs: tuple[Path, ...]


def annotation_file(folder: Path) -> Path | None:
    """``folder``'s COCO file: one of the usual names, else its only ``*.json``."""
    for name in _NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob('*.json')) if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def regular_files(folder: Path) -> frozenset[str] | None:
    """Names of the regular files (or links to one) in ``folder``, in one directory read; None if unreadable."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(entry.name for entry in entries if entry.is_file())
    except OSError:
        return None


def _beside(folder: Path) -> tuple[Path, ...]:
    """``folder``, ``folder/images`` and each folder inside ``folder/images`` (sorted)."""
    images = folder / 'images'
    try:
        with os.scandir(images) as entries:  # no stat per image: the entry says whether it is a folder
            nested = sorted(images / entry.name for entry in entries if entry.is_dir())
    except OSError:
        nested = []
    return (folder, images, *nested)


def _split_of(name: str) -> str | None:
    for prefix, split in (('train', 'train'), ('val', 'valid'), ('test', 'test')):
        if name.startswith(prefix):
            return split
    return None


def _standard(root: Path) -> list[COCOSource]:
    """``annotations/{instances,person_keypoints}_<name>.json``, one file per name (instances first)."""
    folder = root / 'annotations'
    if not folder.is_dir():
        return []
    by_name: dict[str, tuple[int, Path]] = {}  # name -> (kind rank, file)
    for path in sorted(folder.iterdir()):
        match = _STANDARD.match(path.name)
        if match and path.is_file():
            rank, name = _KINDS.index(match.group(1)), match.group('name')
            if name not in by_name or rank < by_name[name][0]:
                by_name[name] = (rank, path)
    sources: list[COCOSource] = []
    seen: dict[str | None, str] = {}
    for name, (_, path) in sorted(by_name.items()):
        split = _split_of(name)
        if split is None and len(by_name) > 1:
            raise ValidationError(
                f'annotations/{path.name}: cannot tell its split from {name!r}; name it instances_<train|val|test>'
                '... or convert it alone (pass the file as the source)',
                {'file': str(path)},
            )
        if split in seen:
            raise ValidationError(
                f'annotations/{path.name} and {seen[split]} are both the {split} split; '
                'convert one at a time (pass the file as the source)',
                {'file': str(path)},
            )
        seen[split] = path.name
        dirs = (root / name, root / 'images' / name, root / 'images', root)
        sources.append(COCOSource(split, path, dirs))
    return sorted(sources, key=lambda source: SPLITS.index(source.split) if source.split else -1)


def locate_sources(root: Path, only: Path | None) -> tuple[Path, list[COCOSource]]:
    """The dataset root and its annotation files, in split order; raises when there is none."""
    if only is not None:
        match = _STANDARD.match(only.name)
        if match and only.parent.name == 'annotations':  # one file of the standard layout
            base, name = only.parent.parent, match.group('name')
            return base, [COCOSource(None, only, (base / name, base / 'images' / name, base / 'images', base))]
        return only.parent, [COCOSource(None, only, _beside(only.parent))]
    if (root / 'train').is_dir() and (root / 'valid').is_dir():
        sources = []
        for split in SPLITS:
            found = annotation_file(root / split)
            if found is not None:
                dirs = (*_beside(root / split), root / 'images' / split)
                sources.append(COCOSource(split, found, dirs))
        if sources:
            return root, sources
    found = annotation_file(root)
    if found is not None:
        return root, [COCOSource(None, found, _beside(root))]
    sources = _standard(root)
    if sources:
        return root, sources
    raise ValidationError(
        f'{root}: not a COCO dataset: no annotations/instances_<split>.json, no single *.json and '
        'no annotations.json (nor train/ and valid/ splits)',
        {'root': str(root)},
    )
