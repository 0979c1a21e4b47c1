"""One rule for what ``--help`` shows after an option that takes a value: ``<type>`` of its annotation.

``<str>``, ``<int>``, ``<float>``, ``<path>``, ``<a|b|c>`` for a choice, ``<list[str]>`` for a repeatable
option. The root command's group (:class:`SynapseGroup`) labels every option of every command below
it once, when the command tree is built, so no option spells its own metavar and a new command gets
the same labels. An option given an explicit ``metavar=`` keeps it; flags take no value and are left
as typer shows them.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ['SynapseGroup', 'label_options', 'metavar_for']

#: click type names (typer before 0.29 describes options with click types) -> the annotation's name
_CLICK_NAMES = {
    'text': 'str',
    'integer': 'int',
    'integer range': 'int',
    'float': 'float',
    'float range': 'float',
    'boolean': 'bool',
    'path': 'path',
    'file': 'file',
    'uuid': 'uuid',
    'datetime': 'datetime',
}


class SynapseGroup(TyperGroup):
    """The ``synapse`` group: on creation, labels the options of every command and group below it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        label_options(self)


def label_options(command: Any) -> None:
    """Give each value-taking option of ``command`` and of its sub-commands, recursively, its ``<type>`` label."""
    ctx = typer.Context(command)
    for param in getattr(command, 'params', ()):
        if getattr(param, 'param_type_name', None) == 'option' and param.metavar is None:
            param.metavar = metavar_for(param, ctx)
    for sub in getattr(command, 'commands', {}).values():
        label_options(sub)


def metavar_for(param: Any, ctx: typer.Context) -> str | None:
    """``<type>`` for an option that takes a value; None for a flag (which takes none)."""
    if getattr(param, 'is_flag', False) or getattr(param, 'count', False):
        return None
    display = getattr(param, 'display_type', None)
    if display is not None:  # typer >= 0.29 derives it from the annotation
        label = str(display(ctx)).strip('<>').removesuffix(' range')  # help shows a range's bounds itself
        return f'<{label}>'
    click_type = param.type
    choices = getattr(click_type, 'choices', None)
    name = '|'.join(str(getattr(c, 'value', c)) for c in choices) if choices else _CLICK_NAMES.get(click_type.name)
    name = name or str(click_type.name)
    return f'<list[{name}]>' if getattr(param, 'multiple', False) else f'<{name}>'
