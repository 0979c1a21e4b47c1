"""What every writer shares: output folders per split, image placement, class ids."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from synapse_sdk.plugins.datasets._classes import ClassMap
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import flat_name, split_for
from synapse_sdk.plugins.datasets._staging import ImagePlacer
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

#: from this many items on, output files are created by a helper process (its start costs ~20 ms of the other core)
HELPER_MIN_ITEMS = 500

_KNOWN_TOOLS = ('bounding_box', 'polygon', 'polyline', 'keypoint', 'segmentation', 'relation', 'group')

__all__ = ['Objects', 'Writer', 'WriterSetup', 'loose_keypoints', 'objects_of']


class WriterSetup:
    """Everything a writer is built from."""

    def __init__(
        self,
        out: Path,
        final: Path,
        classes: ClassMap,
        options: ConvertOptions,
        report: ReportBuilder,
        *,
        split_layout: bool,
        kpt_shape: tuple[int, int] | None = None,
        flip_idx: list[int] | None = None,
        full_class_list: bool = False,
        expected_items: int = 0,
    ) -> None:
        self.out = out
        self.final = final
        self.classes = classes
        self.options = options
        self.report = report
        self.split_layout = split_layout
        self.kpt_shape = kpt_shape
        self.flip_idx = flip_idx  #: YOLO pose ``flip_idx`` of the source
        self.full_class_list = full_class_list
        self.expected_items = expected_items  #: items the reader announced (decides whether files go to a helper)


class Writer(ABC):
    """Writes hub items into the staging folder ``setup.out``."""

    format: DatasetFormat
    keeps_categories: ClassVar[bool] = False  #: whether COCO category details (supercategory, skeleton, ids) fit

    def __init__(self, setup: WriterSetup) -> None:
        self.setup = setup
        self.out = setup.out
        self.classes = setup.classes
        self.options = setup.options
        self.report = setup.report
        helper = setup.expected_items >= HELPER_MIN_ITEMS
        self.placer = ImagePlacer(setup.options.images, setup.options.workers, helper=helper)
        self.splits_written: set[str | None] = set()
        self.flip_idx_written = False

    def split_of(self, item: HubItem) -> str | None:
        """The output split of ``item`` (None in a flat layout)."""
        if not self.setup.split_layout:
            return None
        return item.split or split_for(item.stem)

    def folder(self, split: str | None) -> Path:
        """The output folder of ``split``."""
        return self.out / split if split else self.out

    def file_stem(self, item: HubItem) -> str:
        """The output file stem (subfolders flattened)."""
        return flat_name(item.stem)

    def place_image(self, item: HubItem, folder: Path) -> str | None:
        """Place the item's image in ``folder``; returns its file name."""
        if item.image is None:
            return None
        file_name = self.file_stem(item) + item.image.suffix
        self.placer.place(item.image, folder / file_name)
        return file_name

    def class_id(self, annotation: dict[str, Any], file: str) -> int | None:
        """Class id of an annotation, or None (skipped ``unknown_class``)."""
        name = annotation.get('classification')
        class_id = self.classes.id_for(name) if isinstance(name, str) else None
        if class_id is None:
            message = f"class '{name}' is not in class_names" if name else 'annotation has no classification'
            self.report.skip_annotation(SkipReason.UNKNOWN_CLASS, file=file, message=message)
        return class_id

    def skip_rest(self, item: HubItem, tools: set[str], owned: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Count what this writer cannot hold, in objects (see :meth:`HubItem.count`).

        Annotations tied to a box (``owned``) and groups / relations are lossy; any other annotation of a tool
        outside ``tools`` is skipped (``not_representable``, or ``unsupported_tool`` for a tool we do not know),
        the members of one group counting once.
        """
        grouped: dict[str | None, int] = {}  # looked up with annotation ids, None when one has no id
        for index, group in enumerate(item.entry.get('group', ())):
            for member in group.get('data') or ():
                grouped.setdefault(member, index)
        for tool, anns in item.entry.items():
            if tool in tools or not anns:
                continue
            if tool in ('group', 'relation'):
                self.report.lose(tool, len(anns))
                continue
            tied = sum(1 for a in anns if a.get('id') in owned)
            self.report.lose(tool, tied)
            untied = [a.get('id') for a in anns if a.get('id') not in owned]
            objects = len({grouped.get(aid, aid) for aid in untied})
            reason = SkipReason.NOT_REPRESENTABLE if tool in _KNOWN_TOOLS else SkipReason.UNSUPPORTED_TOOL
            if objects:
                self.report.annotations_skipped[reason.value] += objects

    def lose_attrs(self, annotation: dict[str, Any], keep: tuple[str, ...] = ()) -> None:
        """Count attrs the target drops."""
        if not annotation.get('attrs'):
            return
        self.report.lose('attrs', sum(1 for a in annotation.get('attrs') or () if a.get('name') not in keep))

    @abstractmethod
    def write(self, item: HubItem) -> None:
        """Write one item (or record why it was skipped)."""

    def close(self) -> None:
        """Finish files that span items (dataset.yaml, annotations.json, split lists) and wait for images."""
        self.lose_details()
        self.placer.close()

    def lose_details(self) -> None:
        """Count dataset-level details the output has no place for (COCO category details, YOLO ``flip_idx``)."""
        if not self.keeps_categories:
            for what, count in self.classes.lost_details().items():
                self.report.lose(what, count)
        if self.setup.flip_idx and not self.flip_idx_written:
            self.report.lose('flip_idx')


@dataclass(slots=True)
class Objects:
    """How an item's annotations form objects: a ``group`` holding a box ties keypoints and shapes to it."""

    keypoints_of: dict[str, list[str]] = field(default_factory=dict)  #: box id → keypoint ids, in group order
    shapes_of: dict[str, list[str]] = field(default_factory=dict)  #: box id → polygon / mask ids
    owned: set[str] = field(default_factory=set)  #: every id tied to a box
    box_groups: set[str] = field(default_factory=set)  #: ids of groups that hold a box
    owned_by_box: set[str] = field(default_factory=set)  #: ids of boxes that have keypoints or shapes tied


def objects_of(item: HubItem) -> Objects:
    """Group the item's annotations into objects."""
    keypoints = {k['id'] for k in item.entry.get('keypoint', ())}
    shapes = {a['id'] for tool in ('polygon', 'segmentation') for a in item.entry.get(tool, ())}
    boxes = {b['id'] for b in item.entry.get('bounding_box', ())}
    found = Objects()
    for group in item.entry.get('group', ()):
        members = group.get('data') or []
        box = next((m for m in members if m in boxes), None)
        if box is None:
            continue
        found.box_groups.add(group['id'])
        points = [m for m in members if m in keypoints]
        tied = [m for m in members if m in shapes]
        found.keypoints_of.setdefault(box, []).extend(points)
        found.shapes_of.setdefault(box, []).extend(tied)
        found.owned.update(points, tied)
        if points or tied:
            found.owned_by_box.add(box)
    return found


def loose_keypoints(item: HubItem, owned: set[str]) -> list[list[dict[str, Any]]]:
    """Keypoints that belong to no box: one list per group, and one per ungrouped keypoint."""
    keypoints = {k['id']: k for k in item.entry.get('keypoint', ())}
    loose: list[list[dict[str, Any]]] = []
    seen = set(owned)
    for group in item.entry.get('group', ()):
        points = [keypoints[m] for m in group.get('data') or () if m in keypoints and m not in seen]
        if points:
            loose.append(points)
            seen.update(p['id'] for p in points)
    loose += [[k] for kid, k in keypoints.items() if kid not in seen]
    return loose
