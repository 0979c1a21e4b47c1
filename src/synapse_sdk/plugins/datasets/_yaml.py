"""YAML files that come inside a dataset: size-capped, and parsed without anchors or aliases.

An alias copies a node by reference, so a few hundred bytes of ``&a [*b, *b, ...]`` ("billion laughs")
expand to billions of values as soon as anything walks the result. A dataset config never needs them, so
the loader refuses the first anchor or alias it meets, before any node is built from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import Node

from synapse_sdk.exceptions import ValidationError

__all__ = ['MAX_YAML_BYTES', 'load_dataset_yaml']

MAX_YAML_BYTES = 1 << 20  #: the largest YAML file of a dataset read (1 MiB; a real ``dataset.yaml`` is a few KiB)


class _AnchorRefused(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__(f'anchor or alias at line {line}')
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """``SafeLoader`` that raises on the first anchor (``&name``) or alias (``*name``), merge keys included."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (
            isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None
        ):
            raise _AnchorRefused(event.start_mark.line + 1 if event.start_mark is not None else 0)
        return super().compose_node(parent, index)


def load_dataset_yaml(path: Path, label: str | None = None) -> Any:
    """The YAML document of ``path`` (None when empty), refusing files over 1 MiB and any anchor or alias.

    Raises :class:`ValidationError` naming the file (``label``, default its name) and what to change;
    ``OSError`` when it cannot be read.
    """
    label = label or path.name
    with open(path, 'rb') as fh:
        data = fh.read(MAX_YAML_BYTES + 1)  # never more than the cap, whatever stat said
    if len(data) > MAX_YAML_BYTES:
        raise ValidationError(
            f'{label}: larger than {MAX_YAML_BYTES} bytes (1 MiB); a dataset config holds a few keys, '
            'so this file is refused unread',
            {'file': str(path), 'max_bytes': MAX_YAML_BYTES},
        )
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as exc:
        where = f'{exc.reason} at byte {exc.start}'
        raise ValidationError(f'{label}: not UTF-8 text ({where})', {'file': str(path)}) from exc
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: no Python objects
    except _AnchorRefused as exc:
        raise ValidationError(
            f'{label}: YAML anchors and aliases (&name, *name) are not allowed in {label} '
            f'(found at line {exc.line}); write each value out in full',
            {'file': str(path), 'line': exc.line},
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f'{label}: not valid YAML: {exc}', {'file': str(path)}) from exc
