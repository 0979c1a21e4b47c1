"""Form descriptions generated from an action's params model.

:func:`pydantic_to_ui_schema` turns each field into a dict the platform renders as a form input::

    {'name': 'epochs', 'label': 'Epochs', 'widget': 'number', 'type': 'integer',
     'required': False, 'default': 100, 'help': 'Training epochs', 'min': 1, 'max': 1000, 'step': 1}

Widgets: ``checkbox`` (bool), ``number`` (int/float; ``min``/``max`` inclusive,
``exclusive_min``/``exclusive_max`` exclusive, ``step``), ``text`` (str; ``min_length``,
``max_length``, ``pattern``), ``password`` (SecretStr), ``date``/``datetime``, ``select``
(Literal/Enum; ``options`` of ``{value, label}``), ``multiselect`` (a list of those), ``list``
(other lists; ``items`` describes one item, ``min_items``/``max_items``), ``group`` (a nested
model; ``fields``), and ``json`` for anything else. Optional fields carry ``nullable: True``.
``Field(json_schema_extra={'ui': {...}})`` overrides any key.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

__all__ = ['pydantic_to_ui_schema']

_MAX_DEPTH = 6
_BOUNDS = {
    annotated_types.Ge: ('min', 'ge'),
    annotated_types.Gt: ('exclusive_min', 'gt'),
    annotated_types.Le: ('max', 'le'),
    annotated_types.Lt: ('exclusive_max', 'lt'),
}


def pydantic_to_ui_schema(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One form-field description per field of ``model``, in declaration order."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f'pydantic_to_ui_schema needs a pydantic BaseModel subclass, got {model!r}')
    return _fields(model, 0)


def _fields(model: type[BaseModel], depth: int) -> list[dict[str, Any]]:
    return [_field(name, info, depth) for name, info in model.model_fields.items() if not info.exclude]


def _field(name: str, info: FieldInfo, depth: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        'name': info.alias or name,
        'label': info.title or name.replace('_', ' ').capitalize(),
    }
    annotation, nullable = _unwrap_optional(info.annotation)
    item.update(_widget(annotation, list(info.metadata), depth))
    item['required'] = info.is_required()
    if nullable:
        item['nullable'] = True
    if not info.is_required():
        default = info.get_default(call_default_factory=True)
        if default is not PydanticUndefined:
            item['default'] = _jsonable(default)
    if info.description:
        item['help'] = info.description
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    ui = extra.get('ui')
    if isinstance(ui, dict):
        item.update(ui)
    return item


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if _is_union(annotation):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return annotation, nullable
    return annotation, False


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _widget(annotation: Any, metadata: list[Any], depth: int) -> dict[str, Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _widget(base, [*metadata, *_flatten(extra)], depth)
    options = _options(annotation)
    if options is not None:
        return {'widget': 'select', 'type': _value_type(options), 'options': options}
    if annotation is bool:
        return {'widget': 'checkbox', 'type': 'boolean'}
    if annotation in (int, float):
        return _number(annotation, metadata)
    if annotation is SecretStr:
        return {'widget': 'password', 'type': 'string', **_lengths(metadata, 'min_length', 'max_length')}
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, PurePath)):
        return _text(metadata)
    if annotation is dt.datetime:
        return {'widget': 'datetime', 'type': 'string'}
    if annotation is dt.date:
        return {'widget': 'date', 'type': 'string'}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if depth >= _MAX_DEPTH:
            return {'widget': 'json', 'type': 'object'}
        return {'widget': 'group', 'type': 'object', 'fields': _fields(annotation, depth + 1)}
    if typing.get_origin(annotation) in (list, set, frozenset, tuple, Sequence) or annotation in (list, set, tuple):
        return _list(annotation, metadata, depth)
    return {'widget': 'json', 'type': 'object' if _is_mapping(annotation) else 'any'}


def _flatten(metadata: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in metadata:
        out.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return out


def _options(annotation: Any) -> list[dict[str, Any]] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [{'value': _jsonable(v), 'label': str(v)} for v in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [{'value': _jsonable(m.value), 'label': _enum_label(m)} for m in annotation]
    return None


def _enum_label(member: enum.Enum) -> str:
    return str(member.value) if isinstance(member.value, str) else member.name.replace('_', ' ').capitalize()


def _value_type(options: list[dict[str, Any]]) -> str:
    kinds = {type(o['value']) for o in options}
    if kinds <= {bool}:
        return 'boolean'
    if kinds <= {int}:
        return 'integer'
    if kinds <= {int, float}:
        return 'number'
    return 'string' if kinds <= {str} else 'any'


def _number(kind: type, metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {'widget': 'number', 'type': 'integer' if kind is int else 'number'}
    for item in metadata:
        for cls, (key, attr) in _BOUNDS.items():
            if isinstance(item, cls):
                out[key] = getattr(item, attr)
        if isinstance(item, annotated_types.MultipleOf):
            out['step'] = item.multiple_of
    if kind is int:
        out.setdefault('step', 1)
    return out


def _lengths(metadata: list[Any], low: str, high: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.MinLen):
            out[low] = item.min_length
        if isinstance(item, annotated_types.MaxLen):
            out[high] = item.max_length
    return out


def _text(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {'widget': 'text', 'type': 'string', **_lengths(metadata, 'min_length', 'max_length')}
    for item in metadata:
        pattern = getattr(item, 'pattern', None)
        if isinstance(pattern, str):
            out['pattern'] = pattern
    return out


def _list(annotation: Any, metadata: list[Any], depth: int) -> dict[str, Any]:
    args = typing.get_args(annotation)
    item_type = args[0] if args else Any
    lengths = _lengths(metadata, 'min_items', 'max_items')
    options = _options(_unwrap_optional(item_type)[0])
    if options is not None:
        return {'widget': 'multiselect', 'type': 'array', 'options': options, **lengths}
    items = _widget(_unwrap_optional(item_type)[0], [], depth + 1)
    return {'widget': 'list', 'type': 'array', 'items': items, **lengths}


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, SecretStr):
        return None
    return to_jsonable_python(value)
