"""What an export reads: tasks, assignments or ground truths → :class:`ExportItem` with DM v2 annotations.

Each source answers its own shape (a task's files are under ``data_unit.files``, an assignment's
under ``file``, a ground truth's under ``files`` or ``data_unit.files``); the annotations may be
DM v2 (``{'images': [...]}``), DM v1 (``annotations`` + ``annotationsData``) or the task-object form
whose annotations carry their geometry inline
(``{'annotations': {'image_1': [{'id', 'tool', 'classification': {'class'}, 'data': {x, y, width, height}}]}}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from synapse_sdk.plugins.datasets.dm_versions import dm_v1_to_v2

__all__ = ['ExportItem', 'Target', 'UnreadableAnnotations', 'export_items', 'primary_file', 'to_dm_v2']

Target = Literal['task', 'assignment', 'ground_truth']
TARGETS: tuple[str, ...] = ('task', 'assignment', 'ground_truth')
#: the media keys of a DM v2 document
_MEDIA = frozenset({'images', 'videos', 'pcds', 'texts', 'audios', 'prompts'})


class UnreadableAnnotations(ValueError):
    """An item's annotation data is in no form the exporter reads."""


class ExportItem(BaseModel):
    """One thing to export: its id, its annotation data and its files (``{spec: {url, ...}}``)."""

    id: int
    data: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, Any] = Field(default_factory=dict)


def _files_of(target: str, result: Mapping[str, Any]) -> dict[str, Any]:
    if target == 'assignment' and isinstance(result.get('file'), Mapping):
        return dict(result['file'])
    if isinstance(result.get('files'), Mapping):
        return dict(result['files'])
    unit = result.get('data_unit')
    if isinstance(unit, Mapping) and isinstance(unit.get('files'), Mapping):
        return dict(unit['files'])
    return {}


def export_items(target: str, results: Iterable[Mapping[str, Any]]) -> Iterator[ExportItem]:
    """The items of a source listing, in its order."""
    for result in results:
        data = result.get('data')
        yield ExportItem(
            id=int(result['id']), data=dict(data) if isinstance(data, Mapping) else {}, files=_files_of(target, result)
        )


def primary_file(files: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(spec, entry)`` of the primary media file (``is_primary``, else the first with a URL)."""
    entries = [(spec, entry) for spec, entry in files.items() if isinstance(entry, Mapping) and entry.get('url')]
    for spec, entry in entries:
        if entry.get('is_primary'):
            return spec, dict(entry)
    return (entries[0][0], dict(entries[0][1])) if entries else None


def _inline_to_v1(annotations: Mapping[str, Any]) -> dict[str, Any]:
    """The task-object form (geometry in each annotation's ``data``) → a DM v1 document."""
    anns: dict[str, list[dict[str, Any]]] = {}
    coords: dict[str, list[dict[str, Any]]] = {}
    for asset, items in annotations.items():
        if not isinstance(items, list):
            raise UnreadableAnnotations(
                f'annotations.{asset}: expected a list of annotations, got {type(items).__name__}'
            )
        for index, item in enumerate(items):
            if not isinstance(item, Mapping) or 'id' not in item or 'tool' not in item:
                raise UnreadableAnnotations(f'annotations.{asset}[{index}]: each annotation needs an id and a tool')
            classification = item.get('classification') or {}
            anns.setdefault(asset, []).append(
                {'id': str(item['id']), 'tool': item['tool'], 'classification': classification}
            )
            coords.setdefault(asset, []).append({'id': str(item['id']), 'coordinate': item.get('data')})
    return {'annotations': anns, 'annotationsData': coords}


def to_dm_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    """An item's annotation data as a DM v2 document; :class:`UnreadableAnnotations` naming the field otherwise."""
    media = [value for key, value in data.items() if key in _MEDIA]
    if media and 'annotations' not in data:
        if not all(isinstance(value, list) and all(isinstance(e, Mapping) for e in value) for value in media):
            raise UnreadableAnnotations('data: DM v2 media keys (images, ...) must hold a list of tool maps')
        return dict(data)  # already DM v2
    annotations = data.get('annotations')
    if not isinstance(annotations, Mapping):
        raise UnreadableAnnotations(
            "data: no annotations found (expected DM v2 media keys such as 'images', or 'annotations' "
            'keyed by asset like image_1)'
        )
    document = dict(data) if 'annotationsData' in data else {**data, **_inline_to_v1(annotations)}
    try:
        return dm_v1_to_v2(document)['annotation_data']
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableAnnotations(f'data.annotations: not a readable DM v1 document ({exc})') from None
