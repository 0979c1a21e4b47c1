"""The hub item every reader yields and every writer takes: one media file with its DM v2 annotations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synapse_sdk.plugins.datasets._imagesize import image_size

__all__ = ['HubItem', 'object_count', 'pixel']


@dataclass(slots=True)
class HubItem:
    """One media file.

    ``entry`` is the DM v2 image entry (tool → list of annotation dicts); ``document`` the whole DM v2
    document when the source was DM (so DM → DM keeps other media and tools untouched); ``meta`` the
    DM v1 ``annotation_meta``.
    """

    name: str  #: report name: ``<split>/<stem>`` or ``<stem>``
    stem: str  #: POSIX relative stem inside the split (may hold subfolders, e.g. COCO ``sub/a``)
    split: str | None
    image: Path | None
    source_file: str  #: the annotation file, for problems
    entry: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    document: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    width: int | None = None
    height: int | None = None

    def size(self) -> tuple[int, int] | None:
        """``(width, height)``: known from the format, else read once from the image header."""
        if self.width is None or self.height is None:
            if self.image is None:
                return None
            found = image_size(self.image)
            if found is None:
                return None
            self.width, self.height = found
        return self.width, self.height

    def count(self) -> int:
        """Number of objects in the entry (see :func:`object_count`)."""
        return object_count(self.entry)


def object_count(entry: dict[str, list[dict[str, Any]]]) -> int:
    """Objects of a DM v2 image entry, the unit of every report count.

    An object is what one YOLO row, COCO annotation or VOC object holds: a DM annotation, except that a
    ``group`` and the annotations it ties (a box with its keypoints and shapes) count as one.
    """
    groups = entry.get('group')
    if not groups:
        return sum(len(anns) for anns in entry.values())
    grouped = {member for group in groups if isinstance(group, dict) for member in group.get('data') or ()}
    count = len(groups)
    for tool, anns in entry.items():
        if tool != 'group':
            count += sum(1 for a in anns if not isinstance(a, dict) or a.get('id') not in grouped)
    return count


def pixel(value: float) -> float | int:
    """An absolute coordinate rounded to 2 decimals; whole numbers become ints."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded
