"""From task data to what the page draws: each object's shape in image pixels, and the class colours.

Boxes (``bounding_box``) are ``{x, y, width, height}``; polygons and polylines are ``[[x, y], ...]``,
``[{x, y}, ...]`` or those under ``points`` / ``coordinate``; a keypoint is ``{x, y}`` or ``[x, y]``.
Numbers are passed on exactly as the data holds them: the page draws them in an SVG whose
``viewBox`` is the image's natural size, so the drawing and the data agree pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from synapse_sdk.plugins.actions.to_task.summary import AnnotationObject, objects
from synapse_sdk.review.models import ObjectView, Shape

__all__ = ['PALETTE', 'class_colours', 'object_views']

#: distinct on light and dark images; a run with more classes cycles through them
PALETTE = (
    '#e6194b',
    '#3cb44b',
    '#4363d8',
    '#f58231',
    '#911eb4',
    '#42d4f4',
    '#f032e6',
    '#bfef45',
    '#fabed4',
    '#469990',
    '#dcbeff',
    '#9a6324',
    '#fffac8',
    '#800000',
    '#aaffc3',
    '#808000',
)

_BOX_TOOLS = ('bounding_box', 'bbox', 'boundingbox', 'box')
_LINE_TOOLS = ('polygon', 'polyline')
_POINT_TOOLS = ('keypoint', 'point')


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _rect(data: Any) -> tuple[float, float, float, float] | None:
    if isinstance(data, Mapping) and isinstance(data.get('coordinate'), Mapping):
        data = data['coordinate']
    if not isinstance(data, Mapping):
        return None
    values = [_number(data.get(key)) for key in ('x', 'y', 'width', 'height')]
    if any(v is None for v in values):
        return None
    x, y, width, height = (float(v) for v in values if v is not None)
    return (x, y, width, height)


def _point(item: Any) -> tuple[float, float] | None:
    if isinstance(item, Mapping):
        x, y = _number(item.get('x')), _number(item.get('y'))
    elif isinstance(item, list | tuple) and len(item) >= 2:
        x, y = _number(item[0]), _number(item[1])
    else:
        return None
    return None if x is None or y is None else (x, y)


def _points(data: Any) -> list[tuple[float, float]] | None:
    if isinstance(data, Mapping):
        for key in ('points', 'coordinate', 'vertices'):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not data:
        return None
    points = [_point(item) for item in data]
    return None if any(p is None for p in points) else [p for p in points if p is not None]


def _shape(obj: AnnotationObject) -> tuple[Shape, Any, Any]:
    tool = obj.tool.lower()
    if tool in _BOX_TOOLS or (not tool and _rect(obj.data) is not None):
        rect = _rect(obj.data)
        return ('rect', rect, None) if rect is not None else ('other', None, None)
    if tool in _LINE_TOOLS:
        points = _points(obj.data)
        kind: Shape = 'polygon' if tool == 'polygon' else 'polyline'
        return (kind, None, points) if points is not None else ('other', None, None)
    if tool in _POINT_TOOLS:
        point = _point(obj.data.get('coordinate', obj.data) if isinstance(obj.data, Mapping) else obj.data)
        return ('point', None, [point]) if point is not None else ('other', None, None)
    return 'other', None, None


def object_views(data: Any) -> list[ObjectView]:
    """The objects of task ``data`` with their drawable geometry (``shape='other'``: listed, not drawn)."""
    views = []
    for obj in objects(data):
        shape, rect, points = _shape(obj)
        views.append(
            ObjectView(
                id=obj.id,
                image=obj.image,
                tool=obj.tool,
                label=obj.label,
                confidence=obj.confidence,
                shape=shape,
                rect=rect,
                points=points,
            )
        )
    return views


def class_colours(labels: Iterable[str]) -> dict[str, str]:
    """A colour per class, by sorted name: the same class gets the same colour on every page of a run."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}
