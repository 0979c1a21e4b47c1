"""``config.yaml``: the models of a plugin's configuration and its action entrypoints.

:class:`PluginConfig` describes the plugin; each entry of ``actions`` is an :class:`ActionConfig`
keyed by the action id. Keys the models do not know are kept verbatim (publishing sends them)
and each produces one :class:`~synapse_sdk.exceptions.ConfigWarning` naming the closest known key.
Reading the file lives in :func:`load_config`.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import pydantic
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from synapse_sdk.enums import (
    AnnotationCategory,
    AnnotationTool,
    AnnotationType,
    DataType,
    PackageManager,
    PluginCategory,
    RunMethod,
    SmartToolType,
)
from synapse_sdk.exceptions import ConfigError, ConfigWarning

__all__ = [
    'ActionConfig',
    'Entrypoint',
    'PluginConfig',
    'PluginRequirements',
    'load_config',
    'normalize_entrypoint',
    'parse_entrypoint',
]

_IDENT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_SLUG = re.compile(r'^[a-z0-9]+(?:[-_][a-z0-9]+)*$')
_SEMVER = re.compile(r'^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$')
_TASK = re.compile(r'^([a-z0-9_]+)\.([a-z0-9_]+)$')
_DATA_TYPE_REQUIRED = (
    "data_type is required for neural_net plugins. Add 'data_type: image' (or text, video, pcd, audio) to config.yaml"
)
_INTERNAL_SOURCES = tuple(str(p) + os.sep for p in (Path(__file__).parents[1], Path(pydantic.__file__).parent))
_DEFAULT_PM_OPTIONS = {PackageManager.UV: ['--no-cache'], PackageManager.PIP: ['--upgrade']}


# --------------------------------------------------------------------------- entrypoints


class Entrypoint(NamedTuple):
    """A parsed entrypoint: the module to import and the attribute to take from it."""

    module: str
    attr: str

    @property
    def dotted(self) -> str:
        """The normalised form, ``pkg.mod.Attr``."""
        return f'{self.module}.{self.attr}'


def parse_entrypoint(entrypoint: str) -> Entrypoint:
    """Split ``pkg.mod:Attr`` or ``pkg.mod.Attr`` (the last dot splits) into module and attribute.

    Raises:
        ValueError: the string is not of either form, naming what is wrong.
    """
    text = entrypoint.strip() if isinstance(entrypoint, str) else entrypoint
    if not isinstance(text, str) or not text:
        raise ValueError(f"entrypoint must be 'pkg.module:Name' or 'pkg.module.Name', got {entrypoint!r}")
    if text.count(':') > 1:
        raise ValueError(f"entrypoint {entrypoint!r} has more than one ':'; use 'pkg.module:Name'")
    if ':' in text:
        module, attr = text.split(':')
    else:
        module, _, attr = text.rpartition('.')
    if not module or not attr:
        raise ValueError(
            f"entrypoint {entrypoint!r} needs a module and an attribute: 'pkg.module:Name' or 'pkg.module.Name'"
        )
    bad = [part for part in [*module.split('.'), attr] if not _IDENT.match(part)]
    if bad:
        raise ValueError(f'entrypoint {entrypoint!r}: {bad[0]!r} is not a Python identifier')
    return Entrypoint(module, attr)


def normalize_entrypoint(entrypoint: str) -> str:
    """The dotted form of an entrypoint: ``'pkg.mod:Name'`` → ``'pkg.mod.Name'``."""
    return parse_entrypoint(entrypoint).dotted


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    """Unknown keys are kept (``model_extra``) and reported by :func:`_warn_unknown_keys`."""

    model_config = ConfigDict(extra='allow', populate_by_name=True, use_enum_values=False)


class PluginRequirements(_Model):
    """Version specifiers the plugin needs (``requires`` in config.yaml)."""

    sdk: str | None = None
    python: str | None = None
    cuda: str | None = None


class ActionConfig(_Model):
    """One entry of ``actions``; the key is the action id used for lookup."""

    name: str = ''
    entrypoint: str = ''
    method: RunMethod = RunMethod.TASK
    description: str = ''
    input_type: str | None = None
    output_type: str | None = None
    serve_options: dict[str, Any] = Field(default_factory=dict)
    required_resources: dict[str, Any] = Field(default_factory=dict)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator('entrypoint', mode='before')
    @classmethod
    def _normalise_entrypoint(cls, value: Any) -> Any:
        if value is None:
            return ''
        if isinstance(value, str) and value.strip():
            return normalize_entrypoint(value)
        return value

    @field_validator('description', mode='before')
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return '' if value is None else value

    def resources(self) -> dict[str, Any]:
        """``required_resources`` with the accepted spellings unified.

        ``required_cpu_count``/``num_cpus`` → ``num_cpus``, ``required_gpu_count``/``num_gpus`` →
        ``num_gpus``, ``memory``/``memory_bytes`` → ``memory`` (bytes), plus ``num_replicas``.
        """
        spellings = {
            'num_cpus': ('num_cpus', 'required_cpu_count'),
            'num_gpus': ('num_gpus', 'required_gpu_count'),
            'num_replicas': ('num_replicas',),
            'memory': ('memory', 'memory_bytes'),
        }
        out: dict[str, Any] = {}
        for key, names in spellings.items():
            for name in names:
                if self.required_resources.get(name) is not None:
                    out[key] = self.required_resources[name]
                    break
        return out


class PluginConfig(_Model):
    """The whole of ``config.yaml``."""

    name: str
    code: str
    version: str = '0.1.0'
    category: PluginCategory = PluginCategory.CUSTOM
    description: str = ''
    readme: str = 'README.md'
    package_manager: PackageManager = PackageManager.PIP
    package_manager_options: list[str] = Field(default_factory=list)
    wheels_dir: str = 'wheels'
    env: dict[str, Any] = Field(default_factory=dict)
    runtime_env: dict[str, Any] = Field(default_factory=dict)
    data_type: DataType | None = None
    tasks: list[str] = Field(default_factory=list)
    supported_data_types: list[DataType] = Field(
        default_factory=list, validation_alias=AliasChoices('supported_data_types', 'supported_data_type')
    )
    supported_annotation_tools: dict[AnnotationCategory, list[AnnotationTool]] = Field(default_factory=dict)
    annotation_category: AnnotationCategory | None = None
    annotation_type: AnnotationType | None = None
    smart_tool: SmartToolType | None = Field(
        default=None, validation_alias=AliasChoices('smart_tool', 'smart_tool_type')
    )
    variant: str | None = None
    requires: PluginRequirements | None = None
    dependencies: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    actions: dict[str, ActionConfig] = Field(default_factory=dict)

    @field_validator('code')
    @classmethod
    def _code_is_slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"code must be a slug (lowercase letters, digits, '-' or '_'), e.g. 'my-plugin'; got {value!r}"
            )
        return value

    @field_validator('version', mode='before')
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator('description', 'readme', mode='before')
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return '' if value is None else value

    @field_validator('supported_data_types', 'tags', 'tasks', 'package_manager_options', mode='before')
    @classmethod
    def _one_is_a_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator('tasks')
    @classmethod
    def _tasks_are_typed(cls, value: list[str]) -> list[str]:
        media = {m.value for m in DataType}
        for item in value:
            match = _TASK.match(item)
            if match is None or match.group(1) not in media:
                raise ValueError(
                    f"task {item!r} must be '<data_type>.<task>' with data_type one of "
                    f"{', '.join(sorted(media))}, e.g. 'image.object_detection'"
                )
        return value

    @field_validator('actions', mode='before')
    @classmethod
    def _actions_mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {key: {} if spec is None else spec for key, spec in value.items()}
        return value

    @model_validator(mode='after')
    def _check_whole(self) -> PluginConfig:
        if self.category is PluginCategory.NEURAL_NET and self.data_type is None:
            # seed 003's own example omits it, so loading only warns; publishing refuses (check_publishable)
            _warn_from_caller(_DATA_TYPE_REQUIRED, ConfigWarning)
        for key, spec in self.actions.items():
            if not spec.name:
                spec.name = key
        if not _SEMVER.match(self.version):
            _warn_from_caller(
                f'config.yaml: version {self.version!r} is not X.Y.Z (semantic versioning); it is accepted as is',
                FutureWarning,
            )
        _warn_unknown_keys(self)
        return self

    # ------------------------------------------------------------------ derived values
    def check_publishable(self) -> None:
        """Raise ``ConfigError`` for what loading tolerates but publishing must not (no neural_net data_type)."""
        if self.category is PluginCategory.NEURAL_NET and self.data_type is None:
            raise ConfigError(_DATA_TYPE_REQUIRED, {'field': 'data_type'})

    def effective_package_manager_options(self) -> list[str]:
        """The installer options: the configured ones, else ``--no-cache`` for uv, ``--upgrade`` for pip."""
        return list(self.package_manager_options or _DEFAULT_PM_OPTIONS[self.package_manager])

    def to_dict(self) -> dict[str, Any]:
        """Every modelled field plus unknown keys verbatim, JSON-ready, in config.yaml order."""
        data = self.model_dump(mode='json')
        data['actions'] = data.pop('actions')
        return data

    def to_yaml(self) -> str:
        """config.yaml text for this configuration: non-default fields and unknown keys, in field order.

        ``name``, ``code``, ``version`` and ``category`` are always written, and each action's
        ``entrypoint`` and ``method``; an action's ``name`` only when it differs from its key.
        """
        import yaml

        data = self.model_dump(mode='json', exclude_defaults=True, exclude={'actions'})
        head = {key: getattr(self, key) for key in ('name', 'code', 'version')}
        head['category'] = self.category.value
        data = {**head, **data}
        actions: dict[str, Any] = {}
        for key, spec in self.actions.items():
            item = spec.model_dump(mode='json', exclude_defaults=True)
            if item.get('name') == key:
                del item['name']
            essentials = {'entrypoint': spec.entrypoint, 'method': spec.method.value}
            actions[key] = {**({'name': item.pop('name')} if 'name' in item else {}), **essentials, **item}
        if actions:
            data['actions'] = actions
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _warn_from_caller(message: str, category: type[Warning]) -> None:
    """Warn, attributing the warning to the first frame outside synapse_sdk and pydantic (the user's call)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_SOURCES):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)


def _known_keys(model: type[BaseModel]) -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        keys.append(name)
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            keys.extend(str(choice) for choice in alias.choices if choice != name)
    return keys


def closest_key(key: str, known: list[str]) -> str:
    """The known key with the best ``difflib`` ratio to ``key`` (the first one on ties)."""
    return max(known, key=lambda candidate: difflib.SequenceMatcher(None, key, candidate).ratio())


def _warn_unknown_keys(config: PluginConfig) -> None:
    found: list[tuple[str, str]] = []
    found += [(k, closest_key(k, _known_keys(PluginConfig))) for k in config.model_extra or {}]
    if config.requires is not None:
        known = _known_keys(PluginRequirements)
        found += [(f'requires.{k}', closest_key(k, known)) for k in config.requires.model_extra or {}]
    known_action = _known_keys(ActionConfig)
    for action_key, spec in config.actions.items():
        found += [(f'actions.{action_key}.{k}', closest_key(k, known_action)) for k in spec.model_extra or {}]
    for where, closest in found:
        _warn_from_caller(f"config.yaml: unknown key '{where}'; closest known key: '{closest}'", ConfigWarning)


def load_config(path: str | Path) -> PluginConfig:
    """Read and validate a ``config.yaml`` (a file, or a directory holding one).

    Raises:
        FileNotFoundError: ``Config file not found: <dir>/config.yaml``.
        ConfigError: malformed YAML (with line and column) or invalid fields (with the line).
    """
    from synapse_sdk.plugins._config_file import read_config

    return read_config(Path(path))
