"""DM v1 ↔ DM v2, as pure functions on parsed JSON."""

from __future__ import annotations

from typing import Any

from synapse_sdk.plugins.datasets.models.dm_v1 import V1_TO_V2_TOOL, V2_TO_V1_TOOL, DMv1Document

__all__ = ['dm_v1_to_v2', 'dm_v2_to_v1']

_META_KEYS = ('annotationGroups', 'annotations', 'annotationsData', 'assignmentId', 'extra', 'relations')
_V1_DEFAULTS = {'isLocked': False, 'isVisible': True, 'isValid': True, 'isDrawCompleted': True}


def _media_key(asset: str) -> tuple[str, int]:
    """``image_1`` → ``('images', 0)``; an asset without a number is media index 0."""
    kind, _, number = asset.rpartition('_')
    if not kind or not number.isdigit():
        return f'{asset}s', 0
    return f'{kind}s', max(int(number) - 1, 0)


def _coordinate_to_data(tool: str, coordinate: Any) -> Any:
    if tool == 'bounding_box' and isinstance(coordinate, dict):
        return [coordinate['x'], coordinate['y'], coordinate['width'], coordinate['height']]
    if tool in ('polygon', 'polyline') and isinstance(coordinate, list):
        return [[point['x'], point['y']] for point in coordinate]
    if tool == 'keypoint' and isinstance(coordinate, dict):
        return [coordinate['x'], coordinate['y']]
    return coordinate


def _data_to_coordinate(tool: str, data: Any) -> Any:
    if tool == 'bounding_box':
        x, y, width, height = data
        return {'x': x, 'y': y, 'width': width, 'height': height}
    if tool in ('polygon', 'polyline'):
        return [{'x': x, 'y': y} for x, y in data]
    if tool == 'keypoint':
        return {'x': data[0], 'y': data[1]}
    return data


def dm_v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """A DM v1 document → ``{"annotation_data": <v2>, "annotation_meta": {...}}``.

    The class is ``classification.class``; every other classification key becomes an attr.
    Raises ``pydantic.ValidationError`` or ``KeyError`` on a malformed document.
    """
    parsed = DMv1Document.model_validate(document)
    v2: dict[str, Any] = {'classification': {}}
    for asset, anns in parsed.annotations.items():
        media, index = _media_key(asset)
        entries: list[dict[str, Any]] = v2.setdefault(media, [])
        while len(entries) <= index:
            entries.append({})
        coordinates = {item.id: item.coordinate for item in parsed.annotationsData.get(asset, [])}
        for annotation in anns:
            tool = V1_TO_V2_TOOL.get(annotation.tool, annotation.tool)
            classification = dict(annotation.classification)
            name = classification.pop('class', None)
            entries[index].setdefault(tool, []).append(
                {
                    'id': annotation.id,
                    'classification': name,
                    'attrs': [{'name': key, 'value': value} for key, value in classification.items()],
                    'data': _coordinate_to_data(tool, coordinates.get(annotation.id)),
                }
            )
            names = v2['classification'].setdefault(tool, [])
            if name is not None and name not in names:
                names.append(name)
    meta = {key: document.get(key, {} if key != 'assignmentId' else None) for key in _META_KEYS}
    return {'annotation_data': v2, 'annotation_meta': meta}


def dm_v2_to_v1(data: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A DM v2 document (plus the ``annotation_meta`` of an earlier v1 → v2) → a DM v1 document.

    Fields the v2 form lacks are restored from ``meta``; where absent we fill ``isLocked: false``,
    ``isVisible: true``, ``isValid: true``, ``isDrawCompleted: true`` and ``label: [<class>]``.
    """
    meta = meta or {}
    previous = {
        asset: {item.get('id'): item for item in items if isinstance(item, dict)}
        for asset, items in (meta.get('annotations') or {}).items()
    }
    anns: dict[str, list[dict[str, Any]]] = {}
    annotations_data: dict[str, list[dict[str, Any]]] = {}
    for media, entries in data.items():
        if media == 'classification' or not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            asset = f'{media.removesuffix("s")}_{index + 1}'
            for tool, items in entry.items():
                for item in items:
                    classification = {'class': item.get('classification')}
                    classification.update({attr['name']: attr.get('value') for attr in item.get('attrs') or []})
                    record = dict(previous.get(asset, {}).get(item['id'], {}))
                    record.update({'id': item['id'], 'tool': V2_TO_V1_TOOL.get(tool, tool)})
                    record['classification'] = classification
                    for key, default in _V1_DEFAULTS.items():
                        record.setdefault(key, default)
                    record.setdefault('label', [item.get('classification')])
                    anns.setdefault(asset, []).append(record)
                    annotations_data.setdefault(asset, []).append(
                        {
                            'id': item['id'],
                            'coordinate': _data_to_coordinate(tool, item.get('data')),
                        }
                    )
    return {
        'assignmentId': meta.get('assignmentId'),
        'extra': meta.get('extra') or {},
        'annotations': anns,
        'annotationsData': annotations_data,
        'relations': meta.get('relations') or {},
        'annotationGroups': meta.get('annotationGroups') or {},
    }
