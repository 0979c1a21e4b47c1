"""One COCO annotation → DM v2 annotations (box, polygons, RLE mask, keypoints grouped with their box)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synapse_sdk.plugins.datasets._masks import counts_from_coco_string, dm_rle_from_rows, rows_from_coco_counts
from synapse_sdk.plugins.datasets.models.coco import COCOAnnotation, COCOCategory, COCORle

__all__ = ['PLAIN_KEYS', 'coco_annotation_to_dm', 'plain_annotations']

#: the keys a plain annotation may have (:func:`plain_annotations`)
PLAIN_KEYS = frozenset({'id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd', 'segmentation'})
_NUMBERS = frozenset({int, float})


def plain_annotations(
    elements: list[Any], names: dict[int, str], entry: dict[str, list[dict[str, Any]]], other: Callable[[Any], None]
) -> None:
    """Add the DM objects of each plain annotation to ``entry``; hand every other element to ``other``, in order.

    Plain: the keys of :data:`PLAIN_KEYS` only, int ids, a bbox of 4 numbers with a positive width and height,
    a category in ``names`` (id → name), and no segmentation (a box) or polygons of 3 points or more (a box, its
    polygons and the group tying them). Everything else (and every problem to report) goes through the
    validated path (:func:`coco_annotation_to_dm`); both give the same DM objects, in the same order.
    """
    boxes = None  # entry['bounding_box'], made at the first box (the key order of the entry stays the same)
    for element in elements:
        if type(element) is dict and PLAIN_KEYS.issuperset(element):
            bbox, annotation_id, category_id = element.get('bbox'), element.get('id'), element.get('category_id')
            segmentation = element.get('segmentation')
            polygons = _plain_polygons(segmentation) if segmentation else None
            # orjson never yields NaN or infinity; bool is not a number here
            if (
                (polygons is not None or not segmentation)
                and type(bbox) is list
                and len(bbox) == 4
                and type(annotation_id) is int
                and type(category_id) is int
                and _NUMBERS.issuperset(map(type, bbox))
                and bbox[2] > 0
                and bbox[3] > 0
            ):
                name = names.get(category_id)
                if name is not None:
                    data = bbox if float not in map(type, bbox) else [int(v) if v == int(v) else v for v in bbox]
                    if boxes is None:
                        boxes = entry.setdefault('bounding_box', [])
                    box_id = f'a{annotation_id}'
                    boxes.append({'id': box_id, 'classification': name, 'attrs': [], 'data': data})
                    if polygons is not None:
                        _add_polygons(entry, box_id, name, polygons)
                    continue
        other(element)


def _plain_polygons(segmentation: Any) -> list[list[list[int | float]]] | None:
    """The points of each polygon of a plain ``segmentation`` (lists of 6 or more numbers, an even count, whole
    floats as ints); None for anything else (an RLE mask, a bad polygon: the validated path says what)."""
    if type(segmentation) is not list:
        return None
    out = []
    for flat in segmentation:
        if type(flat) is not list or len(flat) < 6 or len(flat) % 2 or not _NUMBERS.issuperset(map(type, flat)):
            return None
        if float in map(type, flat):
            flat = [int(v) if v == int(v) else v for v in flat]
        corners = iter(flat)  # zipped twice: x, y of one point per step
        out.append([[x, y] for x, y in zip(corners, corners, strict=True)])
    return out


def _add_polygons(
    entry: dict[str, list[dict[str, Any]]], box_id: str, name: str, polygons: list[list[list[int | float]]]
) -> None:
    """The polygons of the box ``box_id`` and the group tying them to it, as :func:`coco_annotation_to_dm` makes."""
    shapes = entry.setdefault('polygon', [])
    members = [box_id]
    for k, points in enumerate(polygons):
        members.append(f'{box_id}_p{k}')
        shapes.append({'id': members[-1], 'classification': name, 'attrs': [], 'data': points})
    entry.setdefault('group', []).append({'id': f'{box_id}_g', 'classification': name, 'attrs': [], 'data': members})


def _whole(values: Any) -> list[float | int]:
    """Whole floats as ints (``10.0`` → ``10``); other values unchanged."""
    return [int(v) if float(v).is_integer() else v for v in values]


def _attrs(annotation: COCOAnnotation) -> list[dict[str, Any]]:
    return [{'name': key, 'value': value} for key, value in (annotation.attributes or {}).items()]


def _polygons(annotation: COCOAnnotation, name: str) -> list[dict[str, Any]]:
    out = []
    for k, flat in enumerate(annotation.segmentation or []):
        if len(flat) < 6 or len(flat) % 2:
            raise ValueError(f'segmentation[{k}] needs an even number (>= 6) of values')
        corners = iter(_whole(flat))  # zipped twice: x, y of one point per step
        points = [[x, y] for x, y in zip(corners, corners, strict=True)]
        out.append({'id': f'a{annotation.id}_p{k}', 'classification': name, 'attrs': [], 'data': points})
    return out


def _mask(annotation: COCOAnnotation, name: str) -> dict[str, Any]:
    rle = annotation.segmentation
    assert isinstance(rle, COCORle)
    height, width = rle.size
    counts = counts_from_coco_string(rle.counts) if isinstance(rle.counts, str) else rle.counts
    rows = rows_from_coco_counts(counts, height, width)
    return {
        'id': f'a{annotation.id}_m',
        'classification': name,
        'attrs': [],
        'data': dm_rle_from_rows(rows, height, width),
    }


def _keypoints(annotation: COCOAnnotation, category: COCOCategory, name: str) -> list[dict[str, Any]]:
    values = annotation.keypoints or []
    labels = category.keypoints or []
    out = []
    for j in range(len(values) // 3):
        x, y, visibility = values[3 * j : 3 * j + 3]
        attrs = [{'name': 'visibility', 'value': int(visibility)}]
        if j < len(labels):
            attrs.insert(0, {'name': 'keypoint', 'value': labels[j]})
        out.append({'id': f'a{annotation.id}_k{j}', 'classification': name, 'attrs': attrs, 'data': _whole([x, y])})
    return out


def coco_annotation_to_dm(annotation: COCOAnnotation, category: COCOCategory) -> dict[str, list[dict[str, Any]]]:
    """DM v2 annotations of one COCO annotation; raises ValueError on a malformed segmentation."""
    name = category.name
    out: dict[str, list[dict[str, Any]]] = {}
    box_id = None
    if annotation.bbox is not None and annotation.bbox[2] > 0 and annotation.bbox[3] > 0:
        box_id = f'a{annotation.id}'
        out['bounding_box'] = [
            {'id': box_id, 'classification': name, 'attrs': _attrs(annotation), 'data': _whole(annotation.bbox)}
        ]
    if isinstance(annotation.segmentation, COCORle):
        out['segmentation'] = [_mask(annotation, name)]
    elif annotation.segmentation:
        out['polygon'] = _polygons(annotation, name)
    if annotation.keypoints:
        out['keypoint'] = _keypoints(annotation, category, name)
    members = [a['id'] for tool in ('bounding_box', 'polygon', 'segmentation', 'keypoint') for a in out.get(tool, ())]
    if len(members) > 1 and (box_id or 'keypoint' in out):
        out['group'] = [{'id': f'a{annotation.id}_g', 'classification': name, 'attrs': [], 'data': members}]
    if box_id is None and annotation.attributes:
        first = next(iter(out.values()), None)
        if first:
            first[0]['attrs'] = _attrs(annotation)
    return out
