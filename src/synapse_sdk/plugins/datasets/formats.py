"""Format ids and conversion options shared by every reader and writer."""

from __future__ import annotations

from enum import StrEnum

__all__ = ['IMAGE_EXTENSIONS', 'SPLITS', 'DatasetFormat', 'ImageMode', 'Layout', 'YoloTask']

#: image suffixes a DM or YOLO annotation is paired with, in lookup order
IMAGE_EXTENSIONS: tuple[str, ...] = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
#: split folder names of a categorized dataset, in output order
SPLITS: tuple[str, ...] = ('train', 'valid', 'test')


class DatasetFormat(StrEnum):
    """A dataset format id, as ``get_converter`` and ``synapse dataset`` accept it."""

    DM_V1 = 'dm_v1'  #: DataMaker v1: one JSON per assignment
    DM_V2 = 'dm_v2'  #: DataMaker v2: one JSON per media file (the hub format)
    YOLO = 'yolo'  #: Ultralytics YOLO: one ``.txt`` per image, normalised rows
    COCO = 'coco'  #: COCO: one ``annotations.json`` per split
    PASCAL = 'pascal'  #: Pascal VOC: one XML per image

    @property
    def is_dm(self) -> bool:
        """Whether this is a DataMaker format (``dm_v1`` or ``dm_v2``)."""
        return self in (DatasetFormat.DM_V1, DatasetFormat.DM_V2)


class YoloTask(StrEnum):
    """Which row type a YOLO output holds."""

    DETECT = 'detect'  #: ``cls cx cy w h``
    SEGMENT = 'segment'  #: ``cls x1 y1 ... xn yn``
    POSE = 'pose'  #: ``cls cx cy w h px1 py1 [v1] ...``


class ImageMode(StrEnum):
    """How images reach the output folder (each is placed at most once)."""

    COPY = 'copy'  #: copy the bytes
    LINK = 'link'  #: hard link; copies when source and output are on different file systems
    SYMLINK = 'symlink'  #: symbolic link to the absolute source path
    NONE = 'none'  #: annotations only


class Layout(StrEnum):
    """Folder layout of the output."""

    AUTO = 'auto'  #: categorized when the source has splits, flat otherwise
    FLAT = 'flat'  #: one folder for every item
    SPLIT = 'split'  #: ``train/valid[/test]``; items without a split are assigned by SHA-1 of their name
