"""Names that come from inside a dataset: refuse absolute and ``..`` paths, pair annotations with images.

Also :func:`extract_zip`, the one way a dataset ``.zip`` is unpacked: unsafe names, links and archives
that expand too much (count, size, ratio; declared sizes checked first, written bytes counted while
extracting) are refused, and nothing of a refused archive is left on disk.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets.formats import IMAGE_EXTENSIONS

__all__ = [
    'ZIP_LIMITS',
    'child',
    'extract_zip',
    'find_image',
    'flat_name',
    'inside',
    'safe_relative',
    'split_for',
    'zip_limit',
]

_DRIVE = re.compile(r'^[A-Za-z]:')

#: ``(environment variable, default)`` of each limit on a dataset ``.zip``; the variable overrides the default.
ZIP_LIMITS = {
    'members': ('SYNAPSE_DATASET_MAX_MEMBERS', 200_000),  # number of members
    'unpacked': ('SYNAPSE_DATASET_MAX_UNPACKED_BYTES', 32 << 30),  # sum of the members' sizes (32 GiB)
    'ratio': ('SYNAPSE_DATASET_MAX_RATIO', 100),  # unpacked / packed size, of the archive and of each member
}
_RATIO_FROM = 1 << 20  #: a member's own ratio is checked from 1 MiB up (tiny files compress by odd amounts)
_CHUNK = 1 << 20


if sys.version_info < (3, 12):

    def child(folder: Path, name: str) -> Path:
        """``folder / name`` for a ``name`` of one part (no separator, not ``.`` or ``..``)."""
        # Python 3.11 parses ``name`` again on ``/`` (1.6 us); this private method (3.11's iterdir uses it) does not
        return folder._make_child_relpath(name)  # type: ignore[attr-defined]

else:

    def child(folder: Path, name: str) -> Path:
        """``folder / name`` for a ``name`` of one part (no separator, not ``.`` or ``..``)."""
        return folder / name  # 3.12 on: as fast as the private method of 3.11


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


def zip_limit(kind: str) -> int:
    """The limit ``kind`` of :data:`ZIP_LIMITS`: its environment variable when set, else the default."""
    name, default = ZIP_LIMITS[kind]
    raw = os.environ.get(name, '').strip()
    if not raw:
        return default
    value = int(raw) if raw.isdigit() else 0
    if value < 1:
        raise ValidationError(
            f'{name} must be a positive whole number, got {raw!r}; unset it to use the default ({default})',
            {name: raw},
        )
    return value


def extract_zip(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` under ``dest`` and return the member names; refuse it whole when it is unsafe.

    Refused before anything is written: a member that is absolute, has ``..`` or is a symlink, more
    members than ``SYNAPSE_DATASET_MAX_MEMBERS``, declared sizes summing to more than
    ``SYNAPSE_DATASET_MAX_UNPACKED_BYTES``, or an expansion ratio (the archive's, or a member's of 1 MiB or
    more) above ``SYNAPSE_DATASET_MAX_RATIO``. While extracting, the bytes written are counted against the
    declared sizes (which an archive can misstate), and a corrupt member refuses the archive too; then what
    was extracted is removed again. Raises :class:`ValidationError` naming the archive, the member and the limit.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f'{archive.name}: not a readable zip archive ({exc})', {'file': str(archive)}) from exc
    with zf:
        members = zf.infolist()
        targets = _check_members(archive, members)
        dest.mkdir(parents=True, exist_ok=True)
        before = set(os.listdir(dest))
        try:
            for info, relative in zip(members, targets, strict=True):
                _extract_member(archive, zf, info, dest.joinpath(*relative.parts))
        except BaseException:
            for name in set(os.listdir(dest)) - before:  # leave nothing of a refused archive behind
                path = dest / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            raise
    return [info.filename for info in members]


def _refuse(archive: Path, what: str, **details: object) -> ValidationError:
    return ValidationError(f'{archive.name}: {what}', {'file': str(archive), **details})


def _check_members(archive: Path, members: list[zipfile.ZipInfo]) -> list[PurePosixPath]:
    """The safe relative path of each member, after checking names, count, declared sizes and ratios."""
    limit = zip_limit('members')
    if len(members) > limit:
        raise _refuse(
            archive,
            f'{len(members)} members, more than the {limit} allowed (SYNAPSE_DATASET_MAX_MEMBERS); '
            'refused as a possible zip bomb, nothing was extracted',
            members=len(members),
        )
    targets: list[PurePosixPath] = []
    for info in members:
        relative = safe_relative(info.filename)
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if relative is None or is_link:
            raise _refuse(
                archive,
                f"unsafe member path '{info.filename}' (absolute, '..' or a link); nothing was extracted",
                member=info.filename,
            )
        targets.append(relative)
    total = sum(info.file_size for info in members)
    limit, ratio = zip_limit('unpacked'), zip_limit('ratio')
    packed = max(1, archive.stat().st_size)
    if total > limit:
        raise _refuse(
            archive,
            f'its members declare {total} bytes, more than the {limit} allowed (SYNAPSE_DATASET_MAX_UNPACKED_BYTES); '
            'refused as a possible zip bomb, nothing was extracted',
            unpacked=total,
        )
    if total > ratio * packed:
        raise _refuse(
            archive,
            f'expands {total // packed}x ({total} bytes from {packed}), more than the {ratio}x allowed '
            '(SYNAPSE_DATASET_MAX_RATIO); refused as a possible zip bomb, nothing was extracted',
            unpacked=total,
        )
    for info in members:
        if info.file_size >= _RATIO_FROM and info.file_size > ratio * max(1, info.compress_size):
            raise _refuse(
                archive,
                f"member '{info.filename}' expands {info.file_size // max(1, info.compress_size)}x "
                f'({info.file_size} bytes from {info.compress_size}), more than the {ratio}x allowed '
                '(SYNAPSE_DATASET_MAX_RATIO); refused as a possible zip bomb, nothing was extracted',
                member=info.filename,
            )
    return targets


def _extract_member(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Write one member, streamed, never more bytes than it declares."""
    try:
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as source, open(target, 'xb') as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise _refuse(
                        archive,
                        f"member '{info.filename}' expands beyond the {info.file_size} bytes it declares; "
                        'refused as a possible zip bomb, nothing was kept',
                        member=info.filename,
                    )
                out.write(chunk)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        raise _refuse(
            archive, f"member '{info.filename}' clashes with another member ({exc.strerror}); nothing was kept"
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _refuse(
            archive, f"member '{info.filename}' cannot be read ({exc}); nothing was kept", member=info.filename
        ) from exc
