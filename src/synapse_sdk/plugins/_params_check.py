"""Strict params: unknown keys and booleans given for numbers are refused before an action runs.

pydantic drops keys a model does not know (``extra='ignore'``, the default) and turns ``True`` into
``1`` for an ``int`` field, so a typo (``projet``) or ``project: true`` would run silently with the
wrong values. :func:`inspect_params` walks the raw params along the model's field types, nested
models included, and reports:

* every key no model on its path knows, with the closest known key (``unknown param 'projet': did
  you mean 'project'?``): an error unless the caller opts in with ``allow_unknown_params=True`` (or
  ``SYNAPSE_ALLOW_UNKNOWN_PARAMS=1``), then a warning naming the keys. Models that keep extra keys
  (``extra='allow'``, as ``RawParams``) are never checked; in a model that forbids them
  (``extra='forbid'``) an unknown key is an error even when relaxed;
* a boolean given for an ``int``/``float`` field (``project: true`` is not project 1). Strings of
  digits are still accepted for numbers (pydantic's lax mode): CLI params are JSON, so a number
  given as a number stays one.
"""

from __future__ import annotations

import collections.abc
import difflib
import os
import types
import typing
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic.fields import FieldInfo

from synapse_sdk.plugins._params_limits import format_loc

__all__ = ['ALLOW_UNKNOWN_ENV', 'ParamProblem', 'allow_unknown_default', 'inspect_params', 'relaxed_warning']

#: ``1``/``true`` relaxes the unknown-key check where the caller did not choose (e.g. from the CLI).
ALLOW_UNKNOWN_ENV = 'SYNAPSE_ALLOW_UNKNOWN_PARAMS'
_NUMBERS = (int, float, Decimal)
_UNION_ORIGINS = (typing.Union, types.UnionType)
_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping)
_KEYS: weakref.WeakKeyDictionary[type[BaseModel], dict[str, FieldInfo]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """One problem with the raw params: ``kind`` is ``unknown_param`` or ``bool_not_number``."""

    kind: str
    loc: tuple[Any, ...]
    message: str
    forbidden: bool = False  #: an unknown key of an ``extra='forbid'`` model: an error even when relaxed

    def as_error(self) -> dict[str, Any]:
        return {'loc': list(self.loc), 'msg': self.message, 'type': self.kind}


def allow_unknown_default(value: bool | None) -> bool:
    """``value``, or ``SYNAPSE_ALLOW_UNKNOWN_PARAMS`` when the caller did not choose."""
    if value is not None:
        return value
    return os.environ.get(ALLOW_UNKNOWN_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def relaxed_warning(problems: list[ParamProblem]) -> str | None:
    """The warning of a relaxed run: which unknown keys are ignored."""
    names = [format_loc(p.loc) for p in problems if p.kind == 'unknown_param' and not p.forbidden]
    if not names:
        return None
    listed = ', '.join(f"'{name}'" for name in names)
    noun = 'param' if len(names) == 1 else 'params'
    return f'ignoring unknown {noun} {listed} (allow_unknown_params is on)'


def inspect_params(model: type[BaseModel], params: Mapping[str, Any]) -> list[ParamProblem]:
    """Unknown keys and booleans given for numbers in ``params`` (the raw input of ``model``).

    The params must already be depth-checked (:func:`~synapse_sdk.plugins._params_limits.check_params_shape`).
    """
    problems: list[ParamProblem] = []
    _walk_model(model, params, (), problems)
    return problems


def _walk_model(
    model: type[BaseModel], value: Mapping[str, Any], loc: tuple[Any, ...], out: list[ParamProblem]
) -> None:
    extra = model.model_config.get('extra')
    fields = _accepted_keys(model)
    for key, child in value.items():
        field = fields.get(key) if isinstance(key, str) else None
        if field is not None:
            _walk_value(field.annotation, child, (*loc, key), out)
        elif extra != 'allow':
            out.append(_unknown(model, fields, (*loc, key), forbidden=extra == 'forbid'))


def _unknown(
    model: type[BaseModel], fields: Mapping[str, FieldInfo], loc: tuple[Any, ...], forbidden: bool
) -> ParamProblem:
    key = str(loc[-1])
    close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.6)
    if close:
        message = f"unknown param '{format_loc(loc)}': did you mean '{close[0]}'?"
    else:
        known = ', '.join(model.model_fields) or 'none'
        message = f"unknown param '{format_loc(loc)}'; known params: {known}"
    return ParamProblem('unknown_param', loc, message, forbidden)


def _walk_value(annotation: Any, value: Any, loc: tuple[Any, ...], out: list[ParamProblem]) -> None:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin in _UNION_ORIGINS:
        _walk_union(typing.get_args(annotation), value, loc, out)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, Mapping):
            _walk_model(annotation, value, loc, out)
    elif _is_number(annotation):
        if isinstance(value, bool):
            out.append(_bool_problem(annotation, value, loc))
    elif origin in _SEQUENCES:
        _walk_items(annotation, value, loc, out)
    elif origin in _MAPPINGS and isinstance(value, Mapping):
        args = typing.get_args(annotation)
        if len(args) == 2:
            for key, item in value.items():
                _walk_value(args[1], item, (*loc, key), out)


def _walk_items(annotation: Any, value: Any, loc: tuple[Any, ...], out: list[ParamProblem]) -> None:
    if not isinstance(value, list | tuple):
        return
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    fixed = typing.get_origin(annotation) is tuple and Ellipsis not in typing.get_args(annotation)
    for index, item in enumerate(value):
        if fixed and index < len(args):
            _walk_value(args[index], item, (*loc, index), out)
        elif not fixed and len(args) == 1:
            _walk_value(args[0], item, (*loc, index), out)


def _walk_union(members: tuple[Any, ...], value: Any, loc: tuple[Any, ...], out: list[ParamProblem]) -> None:
    options = [_unwrap(m) for m in members if m is not type(None)]
    if len(options) == 1:
        _walk_value(options[0], value, loc, out)
        return
    if isinstance(value, bool):
        if not any(_takes_bool(o) for o in options) and any(_is_number(o) for o in options):
            numbers = [o for o in options if _is_number(o)]
            out.append(_bool_problem(numbers[0] if len(numbers) == 1 else float, value, loc))
        return
    models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
    takes_mapping = any(typing.get_origin(o) in _MAPPINGS or o in _MAPPINGS for o in options)
    if isinstance(value, Mapping) and len(models) == 1 and not takes_mapping:
        _walk_model(models[0], value, loc, out)


def _bool_problem(annotation: Any, value: bool, loc: tuple[Any, ...]) -> ParamProblem:
    kind = 'an integer' if isinstance(annotation, type) and issubclass(annotation, int) else 'a number'
    shown = 'true' if value else 'false'
    return ParamProblem(
        'bool_not_number',
        loc,
        f'{format_loc(loc)}: expected {kind}, got the boolean {shown}; booleans are not numbers here, pass e.g. 1',
    )


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_number(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, _NUMBERS) and not issubclass(annotation, bool)


def _takes_bool(annotation: Any) -> bool:
    if annotation is Any or annotation is object:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, bool) or annotation is str  # str refuses bools itself
    return typing.get_origin(annotation) is typing.Literal


def _accepted_keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Every key that sets a field of ``model``: its name, alias and validation aliases."""
    cached = _KEYS.get(model)
    if cached is not None:
        return cached
    keys: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        keys[name] = field
        if field.alias:
            keys[field.alias] = field
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                keys[choice] = field
            elif isinstance(choice, AliasPath) and choice.path and isinstance(choice.path[0], str):
                keys[choice.path[0]] = field
    _KEYS[model] = keys
    return keys
