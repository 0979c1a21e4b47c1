"""Class ids ↔ names, in 0-based (YOLO) id space; COCO ids are these plus one unless the source's are kept."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ['ClassDetails', 'ClassMap']

_UNNAMED = re.compile(r'^class_(\d+)$')


@dataclass(slots=True)
class ClassDetails:
    """What a COCO category says beyond its name (kept for COCO output, counted lossy elsewhere)."""

    supercategory: str = ''
    keypoints: list[str] | None = None  #: keypoint names
    skeleton: list[list[int]] | None = None  #: 1-based keypoint index pairs


class ClassMap:
    """Names by id. ``frozen`` (a ``class_names`` list was given) refuses names it does not hold.

    ``declared`` is the number of ids the source declares (YOLO ``names`` / ``nc``): an id at or above it
    is out of range. ``details`` (by name) and ``coco_ids`` (class id → COCO category id) carry what a COCO
    source says about its categories, so that COCO output keeps it.
    """

    def __init__(self, names: dict[int, str] | None = None, *, frozen: bool = False) -> None:
        self.names: dict[int, str] = dict(names or {})
        self.ids: dict[str, int] = {}
        for class_id, name in self.names.items():
            self.ids.setdefault(name, class_id)
        self.frozen = frozen
        self.declared: int | None = None
        self.details: dict[str, ClassDetails] = {}
        self.coco_ids: dict[int, int] = {}

    @classmethod
    def from_list(cls, names: list[str], *, frozen: bool = False) -> ClassMap:
        """Ids follow the list order."""
        return cls(dict(enumerate(names)), frozen=frozen)

    def name_for(self, class_id: int) -> str:
        """The name of ``class_id``; an id without a name is ``class_<id>`` (and is remembered)."""
        name = self.names.get(class_id)
        if name is None:
            name = f'class_{class_id}'
            self.names[class_id] = name
            self.ids.setdefault(name, class_id)
        return name

    def id_for(self, name: str) -> int | None:
        """The id of ``name``; a new name gets the next free id unless the map is frozen."""
        class_id = self.ids.get(name)
        if class_id is not None or self.frozen:
            return class_id
        match = _UNNAMED.match(name)
        class_id = int(match.group(1)) if match and int(match.group(1)) not in self.names else None
        if class_id is None:
            class_id = max(self.names, default=-1) + 1
        self.names[class_id] = name
        self.ids[name] = class_id
        return class_id

    def ordered_names(self) -> list[str]:
        """Names in id order, ``class_<i>`` filling gaps (YOLO ``names``)."""
        if not self.names:
            return []
        return [self.names.get(i, f'class_{i}') for i in range(max(self.names) + 1)]

    def coco_id(self, class_id: int) -> int:
        """The COCO category id of ``class_id``: the source's own when it had one, else the next free one."""
        found = self.coco_ids.get(class_id)
        if found is None:
            taken = set(self.coco_ids.values())
            found = class_id + 1 if class_id + 1 not in taken else max(taken) + 1
            self.coco_ids[class_id] = found
        return found

    def report(self, offset: int = 0, *, coco: bool = False) -> dict[str, str]:
        """``{"<id + offset>": name}`` (or ``{"<COCO id>": name}``) in id order."""
        if coco:
            return {str(self.coco_id(class_id)): self.names[class_id] for class_id in sorted(self.names)}
        return {str(class_id + offset): self.names[class_id] for class_id in sorted(self.names)}

    def lost_details(self) -> dict[str, int]:
        """What a target without COCO categories loses: counts of supercategories, skeletons and ids."""
        lost = {
            'supercategory': sum(1 for d in self.details.values() if d.supercategory),
            'skeleton': sum(1 for d in self.details.values() if d.skeleton),
            'category_id': sum(1 for class_id, coco_id in self.coco_ids.items() if coco_id != class_id + 1),
        }
        return {key: count for key, count in lost.items() if count}
