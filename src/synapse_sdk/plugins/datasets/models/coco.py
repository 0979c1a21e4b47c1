"""COCO: ``images``, ``annotations`` and ``categories`` in one JSON (instances and person keypoints)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ['COCOAnnotation', 'COCOCategory', 'COCODocument', 'COCOImage', 'COCORle']


class COCOImage(BaseModel):
    """An entry of ``images``; sizes come from here, never from opening the image."""

    model_config = ConfigDict(extra='allow')

    id: int
    file_name: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class COCORle(BaseModel):
    """Run-length mask: ``counts`` a list of ints (uncompressed) or COCO's compressed string; column-major."""

    counts: list[int] | str
    size: tuple[int, int]


class COCOAnnotation(BaseModel):
    """An entry of ``annotations``."""

    model_config = ConfigDict(extra='allow')

    id: int
    image_id: int
    category_id: int
    bbox: tuple[float, float, float, float] | None = None
    area: float | None = None
    iscrowd: int = 0
    segmentation: list[list[float]] | COCORle | None = None
    keypoints: list[float] | None = None
    num_keypoints: int | None = None
    attributes: dict[str, Any] | None = None

    @field_validator('bbox')
    @classmethod
    def _bbox(cls, value: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if value is not None and (not all(math.isfinite(v) for v in value) or value[2] < 0 or value[3] < 0):
            raise ValueError('bbox must be finite with width and height >= 0')
        return value

    @field_validator('keypoints')
    @classmethod
    def _keypoints(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) % 3:
            raise ValueError('keypoints must hold [x, y, v] triples')
        return value


class COCOCategory(BaseModel):
    """An entry of ``categories``; ``keypoints`` names and 1-based ``skeleton`` pairs for pose."""

    model_config = ConfigDict(extra='allow')

    id: int
    name: str
    supercategory: str = ''
    keypoints: list[str] | None = None
    skeleton: list[tuple[int, int]] | None = None


class COCODocument(BaseModel):
    """A whole COCO file (for small files; converters stream instead)."""

    model_config = ConfigDict(extra='allow')

    images: list[COCOImage] = Field(default_factory=list)
    annotations: list[COCOAnnotation] = Field(default_factory=list)
    categories: list[COCOCategory] = Field(default_factory=list)
