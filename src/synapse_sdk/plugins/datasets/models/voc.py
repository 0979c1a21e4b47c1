"""Pascal VOC: one XML per image."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ['VOCAnnotation', 'VOCBox', 'VOCObject', 'VOCSize']


class VOCSize(BaseModel):
    """``size``: image width, height and depth (channels)."""

    width: int = Field(ge=0)
    height: int = Field(ge=0)
    depth: int = 3


class VOCBox(BaseModel):
    """``bndbox``: corners in pixels (``xmax = x + w``; no ±1 offset)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float


class VOCObject(BaseModel):
    """``object``."""

    name: str
    pose: str = 'Unspecified'
    truncated: int = 0
    difficult: int = 0
    bndbox: VOCBox


class VOCAnnotation(BaseModel):
    """``annotation``."""

    folder: str = 'JPEGImages'
    filename: str
    size: VOCSize
    segmented: int = 0
    objects: list[VOCObject] = Field(default_factory=list)
