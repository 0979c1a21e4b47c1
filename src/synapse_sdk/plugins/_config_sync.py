"""``synapse plugin update-config``: write what the source declares into config.yaml.

Entrypoints and input/output types come from :func:`discover_actions` (AST, nothing imported).
New actions get the default method of their key; everything else in the file is kept. Comments
are not preserved (the file is re-emitted by PyYAML), and the write is atomic.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from synapse_sdk.enums import RunMethod
from synapse_sdk.exceptions import ConfigError
from synapse_sdk.plugins._ast_discovery import discover_actions
from synapse_sdk.plugins._config_file import config_path, format_errors, parse_yaml, write_atomic
from synapse_sdk.plugins.config import PluginConfig, normalize_entrypoint

__all__ = ['DEFAULT_METHODS', 'ConfigSyncResult', 'default_method', 'sync_config']

DEFAULT_METHODS: dict[str, RunMethod] = {
    **dict.fromkeys(
        ('upload', 'export', 'download', 'convert', 'train', 'test', 'deployment', 'to_task'), RunMethod.JOB
    ),
    'inference': RunMethod.SERVE,
    'auto_label': RunMethod.TASK,
}


def default_method(action: str) -> RunMethod | None:
    """The method ``update-config`` gives an action of this key, if it has a default."""
    return DEFAULT_METHODS.get(action)


@dataclass
class ConfigSyncResult:
    """What a sync changed; ``unmatched`` are configured actions whose entrypoint the source lacks."""

    file: Path
    changes: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the file was rewritten."""
        return bool(self.changes)


def sync_config(path: Path) -> ConfigSyncResult:
    """Merge the actions found in the source into the config file at (or inside) ``path``.

    A found action updates the configured action with the same entrypoint whatever its key (seed
    004 keys ``InferenceAction`` as ``infer``), else the one with its key; otherwise it is added.

    Raises:
        ConfigError: the file is not a valid config.yaml (checked before anything is written).
    """
    file = config_path(path)
    if not file.is_file():
        raise FileNotFoundError(f'Config file not found: {file}')
    data, root = parse_yaml(file)
    _validate(file, data, root)
    result = ConfigSyncResult(file)
    actions: dict[str, Any] = {key: {} if spec is None else spec for key, spec in (data.get('actions') or {}).items()}
    found = discover_actions(file.parent)
    matched: set[str] = set()
    defined = {entry['entrypoint'] for entry in found.values()}
    for name, entry in found.items():
        keys = _keys_for(actions, name, entry['entrypoint'], defined)
        if keys is None:
            taken = _normalised(actions[name].get('entrypoint'))
            result.unmatched.append(
                f"action '{name}' ({entry['entrypoint']}) not added: key '{name}' is taken by {taken}"
            )
            continue
        if not keys:
            actions[name] = _new_action(name, entry)
            matched.add(name)
            result.changes.append(f"added action '{name}' ({entry['entrypoint']})")
            continue
        for key in keys:
            matched.add(key)
            result.changes += _update_action(key, actions[key], entry)
    for key, spec in actions.items():
        ep = _normalised(spec.get('entrypoint'))
        if key not in matched and ep:
            result.unmatched.append(f"action '{key}': entrypoint '{ep}' is not defined in the plugin's source")
    data['actions'] = actions
    _validate(file, data, root)
    if result.changes:
        import yaml

        write_atomic(file, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    return result


def _keys_for(actions: dict[str, Any], name: str, entrypoint: str | None, defined: set[str | None]) -> list[str] | None:
    """The configured actions a found one updates: those with its entrypoint, else the one with its key.

    None when its key is taken by a configured action whose entrypoint the source defines too.
    """
    by_entrypoint = [key for key, spec in actions.items() if _normalised(spec.get('entrypoint')) == entrypoint]
    if by_entrypoint:
        return by_entrypoint
    if name not in actions:
        return []
    return None if _normalised(actions[name].get('entrypoint')) in defined else [name]


def _new_action(key: str, entry: dict[str, str | None]) -> dict[str, Any]:
    spec: dict[str, Any] = {'entrypoint': entry['entrypoint'], 'method': (default_method(key) or RunMethod.TASK).value}
    for attr in ('input_type', 'output_type'):
        if entry.get(attr):
            spec[attr] = entry[attr]
    return spec


def _update_action(key: str, spec: dict[str, Any], entry: dict[str, str | None]) -> list[str]:
    changes = []
    if _normalised(spec.get('entrypoint')) != entry['entrypoint']:
        spec['entrypoint'] = entry['entrypoint']
        changes.append(f"action '{key}': entrypoint -> {entry['entrypoint']}")
    for attr in ('input_type', 'output_type'):
        value = entry.get(attr)
        if value and spec.get(attr) != value:
            spec[attr] = value
            changes.append(f"action '{key}': {attr} -> {value}")
    method = default_method(key)
    if 'method' not in spec and method is not None:
        spec['method'] = method.value
        changes.append(f"action '{key}': method -> {method.value} (default for '{key}')")
    return changes


def _normalised(entrypoint: Any) -> str | None:
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        return None
    try:
        return normalize_entrypoint(entrypoint)
    except ValueError:
        return entrypoint


def _validate(file: Path, data: dict[str, Any], root: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            PluginConfig.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ConfigError(format_errors(file, exc, root), {'file': str(file)}) from None
