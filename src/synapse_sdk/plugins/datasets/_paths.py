"""Names that come from inside a dataset: refuse absolute and ``..`` paths, pair annotations with images."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets.formats import IMAGE_EXTENSIONS

__all__ = ['extract_zip', 'find_image', 'flat_name', 'inside', 'safe_relative', 'split_for']

_DRIVE = re.compile(r'^[A-Za-z]:')


def safe_relative(name: str) -> PurePosixPath | None:
    """Return ``name`` as a relative POSIX path, or None when it is absolute, empty or climbs out with ``..``."""
    if not name or '\x00' in name:
        return None
    text = name.replace('\\', '/')
    if text.startswith('/') or _DRIVE.match(text):
        return None
    parts = [part for part in text.split('/') if part not in ('', '.')]
    if not parts or any(part == '..' for part in parts):
        return None
    return PurePosixPath(*parts)


def inside(root: Path, name: str) -> Path | None:
    """``root / name`` when ``name`` is a safe relative path (no absolute path, no ``..``), else None.

    The check is lexical: it is what keeps output names inside the output folder. Symlinks that already
    sit in a source dataset are read like files (our own ``images='symlink'`` output has them).
    """
    relative = safe_relative(name)
    return None if relative is None else root.joinpath(*relative.parts)


def flat_name(relative_stem: str) -> str:
    """A file-name-safe stem for formats whose layout has no subfolders (``a/b`` → ``a__b``)."""
    return relative_stem.replace('/', '__')


def find_image(folder: Path, stem: str, names: set[str] | None = None) -> Path | None:
    """The image named ``stem`` + one of :data:`IMAGE_EXTENSIONS` in ``folder`` (any suffix case)."""
    for ext in IMAGE_EXTENSIONS:
        for suffix in (ext, ext.upper()):
            file_name = stem + suffix
            if names is not None:
                if file_name in names:
                    return folder / file_name
            elif (folder / file_name).is_file():
                return folder / file_name
    return None


def split_for(stem: str) -> str:
    """Our split rule for items without one: ``train`` when SHA-1(stem)[0] < 205 (about 80/20), else ``valid``."""
    import hashlib

    return 'train' if hashlib.sha1(stem.encode()).digest()[0] < 205 else 'valid'


def extract_zip(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` under ``dest``; refuse the whole archive when any member is absolute or has ``..``.

    Returns the member names extracted. Symlink members are refused too.
    """
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if safe_relative(info.filename) is None or is_link:
                raise ValidationError(
                    f"{archive.name}: unsafe member path '{info.filename}' (absolute, '..' or a link); "
                    'nothing was extracted',
                    {'file': str(archive), 'member': info.filename},
                )
        for info in members:
            zf.extract(info, dest)
    return [info.filename for info in members]
