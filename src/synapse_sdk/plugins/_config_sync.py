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
    """Merge the actions found in the source into the config file at (or inside) ``path``."""
    file = config_path(path)
    if not file.is_file():
        raise FileNotFoundError(f'Config file not found: {file}')
    data, root = parse_yaml(file)
    result = ConfigSyncResult(file)
    actions = data.get('actions') or {}
    if not isinstance(actions, dict):
        raise ConfigError(f'{file}: actions must be a mapping of action keys to settings', {'file': str(file)})
    found = discover_actions(file.parent)
    by_entrypoint = {entry['entrypoint']: key for key, entry in found.items()}
    for key, entry in found.items():
        spec = actions.get(key)
        if spec is None:
            actions[key] = _new_action(key, entry)
            result.changes.append(f"added action '{key}' ({entry['entrypoint']})")
            continue
        result.changes += _update_action(key, spec, entry)
    for key, spec in actions.items():
        if key not in found and isinstance(spec, dict):
            ep = _normalised(spec.get('entrypoint'))
            if ep and ep not in by_entrypoint:
                result.unmatched.append(f"action '{key}': entrypoint '{ep}' is not defined in the plugin's source")
    data['actions'] = actions
    _validate(file, data, root)
    if result.changes:
        import yaml

        write_atomic(file, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    return result


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
