"""Class ids ↔ names, in 0-based (YOLO) id space; COCO ids are these plus one."""

from __future__ import annotations

import re

__all__ = ['ClassMap']

_UNNAMED = re.compile(r'^class_(\d+)$')


class ClassMap:
    """Names by id. ``frozen`` (a ``class_names`` list was given) refuses names it does not hold."""

    def __init__(self, names: dict[int, str] | None = None, *, frozen: bool = False) -> None:
        self.names: dict[int, str] = dict(names or {})
        self.ids: dict[str, int] = {}
        for class_id, name in self.names.items():
            self.ids.setdefault(name, class_id)
        self.frozen = frozen

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

    def report(self, offset: int = 0) -> dict[str, str]:
        """``{"<id + offset>": name}`` in id order."""
        return {str(class_id + offset): self.names[class_id] for class_id in sorted(self.names)}
