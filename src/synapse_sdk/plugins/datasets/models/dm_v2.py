"""DataMaker v2: one JSON per media file; each media entry maps a tool to its annotations."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    'DM_V2_TOOLS',
    'DMAttr',
    'DMv2Annotation',
    'DMv2BoundingBox',
    'DMv2Document',
    'DMv2Group',
    'DMv2Keypoint',
    'DMv2Polygon',
    'DMv2Polyline',
    'DMv2Relation',
    'DMv2Segmentation',
    'SegmentationMask',
]

ID_PATTERN = r'^[a-zA-Z0-9_-]+$'


def _finite(values: list[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValueError('coordinates must be finite numbers')


class DMAttr(BaseModel):
    """One attribute of an annotation."""

    name: str
    value: Any = None


class DMv2Annotation(BaseModel):
    """Fields every DM v2 annotation has; unknown keys are kept."""

    model_config = ConfigDict(extra='allow')

    id: str = Field(pattern=ID_PATTERN)
    classification: str | None = None
    attrs: list[DMAttr] = Field(default_factory=list)
    data: Any = None


class DMv2BoundingBox(DMv2Annotation):
    """``data`` = ``[x, y, w, h]``: top-left corner and size, in pixels."""

    data: tuple[float, float, float, float]

    @field_validator('data')
    @classmethod
    def _size(cls, value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        _finite(list(value))
        if value[2] < 0 or value[3] < 0:
            raise ValueError('width and height must be >= 0')
        return value


class DMv2Polygon(DMv2Annotation):
    """``data`` = ``[[x, y], ...]`` with at least 3 points."""

    data: list[tuple[float, float]] = Field(min_length=3)

    @field_validator('data')
    @classmethod
    def _points(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        _finite([c for point in value for c in point])
        return value


class DMv2Polyline(DMv2Polygon):
    """``data`` = ``[[x, y], ...]`` with at least 2 points."""

    data: list[tuple[float, float]] = Field(min_length=2)


class DMv2Keypoint(DMv2Annotation):
    """``data`` = ``[x, y]``."""

    data: tuple[float, float]

    @field_validator('data')
    @classmethod
    def _point(cls, value: tuple[float, float]) -> tuple[float, float]:
        _finite(list(value))
        return value


class DMv2Relation(DMv2Annotation):
    """``data`` = ``[from_id, to_id]``."""

    data: tuple[str, str]


class DMv2Group(DMv2Annotation):
    """``data`` = ``[id, ...]``: ties annotations together (a box and its keypoints, in order)."""

    data: list[str] = Field(min_length=1)


class SegmentationMask(BaseModel):
    """A mask with an explicit encoding over an image of ``size = [height, width]``.

    - ``raw_indices``: ``indices`` = the foreground pixels' row-major indices (``row * width + col``).
    - ``dm_rle``: ``counts`` = alternating run lengths in row-major order, starting with a background run.
    """

    encoding: Literal['raw_indices', 'dm_rle']
    size: tuple[int, int]
    indices: list[int] | None = None
    counts: list[int] | None = None

    @model_validator(mode='after')
    def _payload(self) -> SegmentationMask:
        height, width = self.size
        if height <= 0 or width <= 0:
            raise ValueError('size must be [height, width] with both > 0')
        if self.encoding == 'raw_indices':
            if self.indices is None:
                raise ValueError("encoding 'raw_indices' needs 'indices'")
            if any(i < 0 or i >= height * width for i in self.indices):
                raise ValueError('an index lies outside the mask')
        else:
            if self.counts is None:
                raise ValueError("encoding 'dm_rle' needs 'counts'")
            if any(c < 0 for c in self.counts) or sum(self.counts) > height * width:
                raise ValueError('counts must be >= 0 and cover at most height * width pixels')
        return self


class DMv2Segmentation(DMv2Annotation):
    """``data`` = a :class:`SegmentationMask`."""

    data: SegmentationMask


#: tools whose ``data`` we understand; any other tool passes through DM ↔ DM untouched
DM_V2_TOOLS: dict[str, type[DMv2Annotation]] = {
    'bounding_box': DMv2BoundingBox,
    'polygon': DMv2Polygon,
    'polyline': DMv2Polyline,
    'keypoint': DMv2Keypoint,
    'relation': DMv2Relation,
    'group': DMv2Group,
    'segmentation': DMv2Segmentation,
}


class DMv2Document(BaseModel):
    """A whole DM v2 file: ``classification`` plus one list per media type (``images``, ``videos``, ...)."""

    model_config = ConfigDict(extra='allow')

    classification: dict[str, list[str]] = Field(default_factory=dict)
    images: list[dict[str, list[dict[str, Any]]]] = Field(default_factory=list)
