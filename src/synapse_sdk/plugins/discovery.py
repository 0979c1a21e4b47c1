"""``PluginDiscovery``: a plugin's actions, from ``config.yaml`` or from a module.

``from_path`` reads the config and imports an action's entrypoint only when it is first asked
for; ``from_module`` introspects an imported module (and a package's submodules);
``discover_actions`` reads source files without importing them. ``load`` resolves whatever
``run_plugin`` was given (a folder, a config.yaml, a module, or a published plugin's code) and
caches the result per config file and modification time.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory, RunMethod
from synapse_sdk.exceptions import ActionDefinitionError, ActionNotFoundError, ConfigError
from synapse_sdk.plugins._ast_discovery import default_action_name
from synapse_sdk.plugins._ast_discovery import discover_actions as _discover_actions
from synapse_sdk.plugins._config_file import config_path
from synapse_sdk.plugins._function_action import action_class_for, is_action
from synapse_sdk.plugins._loading import activate, import_plugin_module, load_entrypoint
from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.config import ActionConfig, PluginConfig, load_config

if TYPE_CHECKING:
    from synapse_sdk.plugins._config_sync import ConfigSyncResult
    from synapse_sdk.plugins.context import PluginEnvironment

__all__ = ['PluginDiscovery', 'action_not_found', 'load_entrypoint']

_cache: dict[tuple[str, int, int], PluginDiscovery] = {}
_module_cache: dict[str, PluginDiscovery] = {}
_cache_lock = threading.Lock()
_MODULE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')


class PluginDiscovery:
    """The actions of one plugin and its configuration.

    Args:
        config: the plugin's configuration.
        path: the plugin folder its entrypoints are imported from (None for a module).
        targets: already-loaded action objects by action key (``from_module``).
    """

    def __init__(self, config: PluginConfig, path: Path | None = None, targets: dict[str, Any] | None = None) -> None:
        self.config = config
        self.path = path
        self._targets: dict[str, Any] = dict(targets or {})
        self._classes: dict[str, type[BaseAction[Any]]] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        where = f', path={str(self.path)!r}' if self.path else ''
        return f'PluginDiscovery(code={self.config.code!r}{where}, actions={self.list_actions()})'

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> PluginDiscovery:
        """The plugin whose ``config.yaml`` is at ``path`` (a folder or the file itself)."""
        location = Path(path)
        folder = location.parent if location.is_file() else location
        return cls(load_config(location), path=folder.resolve())

    @classmethod
    def from_module(
        cls, module: ModuleType, *, name: str | None = None, category: PluginCategory | str | None = None
    ) -> PluginDiscovery:
        """Discover the ``@action`` functions and ``BaseAction`` subclasses of ``module``.

        For a package its submodules are imported and scanned too. Imported abstract bases are
        skipped; a class without ``action_name`` is keyed by its snake-cased name without ``Action``.
        """
        resolved = PluginCategory(category) if category is not None else PluginCategory.CUSTOM
        targets: dict[str, Any] = {}
        specs: dict[str, ActionConfig] = {}
        for target in _module_actions(module):
            action_cls = action_class_for(target)
            key = action_cls.action_name or default_action_name(action_cls.__name__)
            if key in targets and targets[key] is not target:
                raise ActionDefinitionError(
                    f"Two actions in {module.__name__} are named '{key}': "
                    f'{_qualified(targets[key])} and {_qualified(target)}',
                    {'action': key},
                )
            targets[key] = target
            specs[key] = ActionConfig(
                name=key,
                entrypoint=_qualified(target),
                description=action_cls.description or '',
                input_type=action_cls.input_type.name if action_cls.input_type else None,
                output_type=action_cls.output_type.name if action_cls.output_type else None,
            )
        label = name or module.__name__
        config = PluginConfig.model_construct(
            name=label, code=_slug(label), category=resolved, description=(module.__doc__ or '').strip(), actions=specs
        )
        return cls(config, targets=targets)

    @classmethod
    def load(cls, plugin_code: str | os.PathLike[str] | None, *, client: Any | None = None) -> PluginDiscovery:
        """Resolve what ``run_plugin`` was given, cached per config file and modification time.

        ``plugin_code`` is, in this order: a bundle (``.zip``, from ``synapse plugin package``), unpacked
        once into the state dir; a plugin folder or a ``config.yaml`` path; the ``code`` of
        the plugin in the current directory; an importable module name; the code (or
        ``code@version``) of a plugin published to the backend, whose release archive is fetched
        once and cached. ``client`` is that backend (default: the configured one).
        """
        if plugin_code is None:
            raise ValueError('plugin_code is required: a plugin folder, a config.yaml path or a module name')
        text = os.fspath(plugin_code)
        location = Path(text)
        if location.suffix == '.zip' and location.is_file():  # a bundle of `synapse plugin package`
            from synapse_sdk.plugins.bundle import unpacked_bundle

            return _cached_path(unpacked_bundle(location))
        if location.is_file() or (location / 'config.yaml').is_file():
            return _cached_path(location)
        here = Path.cwd()
        if _code_in(here) == text:
            return _cached_path(here)
        if _MODULE_NAME.match(text) and _importable(text):
            with _cache_lock:
                if text not in _module_cache:
                    _module_cache[text] = cls.from_module(import_plugin_module(text, None))
                return _module_cache[text]
        if location.is_dir():
            raise FileNotFoundError(f'Config file not found: {location / "config.yaml"}')
        from synapse_sdk.plugins._remote import published_folder

        return _cached_path(published_folder(text, client, here))

    # ------------------------------------------------------------------ actions
    def list_actions(self) -> list[str]:
        """Action keys in config.yaml order."""
        return list(self.config.actions)

    def has_action(self, name: str) -> bool:
        """Whether an action of that key exists."""
        return name in self.config.actions

    def get_action_config(self, name: str) -> ActionConfig:
        """The action's entry in config.yaml."""
        spec = self.config.actions.get(name)
        if spec is None:
            raise action_not_found(name, self.list_actions(), plugin=self.config.code)
        return spec

    def get_action_class(self, name: str) -> type[BaseAction[Any]]:
        """The runnable action class (``@action`` functions come wrapped), importing it on first use.

        A class without ``action_name`` or ``category`` takes the key and the plugin's category.
        """
        with self._lock:
            if name in self._classes:
                if self.path is not None:
                    activate(self.config.actions[name].entrypoint, self.path)
                return self._classes[name]
            spec = self.get_action_config(name)
            target = self._targets.get(name)
            if target is None:
                if not spec.entrypoint:
                    raise ConfigError(f"Action '{name}' has no entrypoint defined", {'action': name})
                target = load_entrypoint(spec.entrypoint, self.path, action=name)
            action_cls = action_class_for(target)
            if action_cls.action_name is None:
                action_cls.action_name = name
            if action_cls.category is None:
                action_cls.category = self.config.category
            self._classes[name] = action_cls
            return action_cls

    def get_action_entrypoint(self, name: str) -> str:
        """The action's dotted entrypoint (``plugin.train.TrainAction``)."""
        return self.get_action_config(name).entrypoint

    def get_action_method(self, name: str) -> RunMethod:
        """How the action is meant to run (``method`` in config.yaml)."""
        return self.get_action_config(name).method

    def get_action_params_model(self, name: str) -> type[BaseModel]:
        """The action's params model (``RawParams`` for actions declared without one)."""
        return self.get_action_class(name).params_model

    def get_action_result_model(self, name: str) -> type[BaseModel] | None:
        """The action's result model, or None when results are not validated."""
        model = self.get_action_class(name).result_model
        return None if model is NoResult else model  # type: ignore[return-value]

    def get_action_ui_schema(self, name: str) -> list[dict[str, Any]]:
        """Form fields for the action's params (see :func:`~synapse_sdk.plugins.ui_schema.pydantic_to_ui_schema`)."""
        from synapse_sdk.plugins.ui_schema import pydantic_to_ui_schema

        return pydantic_to_ui_schema(self.get_action_params_model(name))

    def get_action_input_type(self, name: str) -> str | None:
        """The semantic input type name: config.yaml's, else the class's ``input_type.name``."""
        return self._type_of(name, 'input_type')

    def get_action_output_type(self, name: str) -> str | None:
        """The semantic output type name: config.yaml's, else the class's ``output_type.name``."""
        return self._type_of(name, 'output_type')

    def _type_of(self, name: str, attr: str) -> str | None:
        configured = getattr(self.get_action_config(name), attr)
        if configured:
            return configured
        declared = getattr(self.get_action_class(name), attr)
        return declared.name if declared is not None else None

    # ------------------------------------------------------------------ config
    def plugin_env(self) -> PluginEnvironment:
        """The config's ``env`` as a :class:`PluginEnvironment`."""
        from synapse_sdk.plugins.context import PluginEnvironment

        return PluginEnvironment({k: v if isinstance(v, str) else str(v) for k, v in self.config.env.items()})

    def to_config_dict(self, *, include_schemas: bool = True) -> dict[str, Any]:
        """The whole config as published.

        Every field, unknown keys verbatim and, per action, the generated
        ``hyperparameters.train_ui_schemas`` and ``result_schema`` (which imports the actions).

        Raises:
            ConfigError: the config cannot be published (a neural_net plugin without data_type).
        """
        self.config.check_publishable()
        data = self.config.to_dict()
        if not include_schemas:
            return data
        for key, entry in data['actions'].items():
            hyper = dict(entry.get('hyperparameters') or {})
            hyper.setdefault('train_ui_schemas', self.get_action_ui_schema(key))
            entry['hyperparameters'] = hyper
            result = self.get_action_result_model(key)
            entry['result_schema'] = result.model_json_schema() if result is not None else None
        return data

    def to_yaml(self) -> str:
        """config.yaml text for this plugin."""
        return self.config.to_yaml()

    def sync_config_file(self, path: str | os.PathLike[str] | None = None) -> ConfigSyncResult:
        """Write entrypoints and input/output types found in the source (by AST) into config.yaml.

        Args:
            path: the plugin folder or config.yaml (default: this plugin's folder).
        """
        from synapse_sdk.plugins._config_sync import sync_config

        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError('sync_config_file needs a plugin folder: this plugin was discovered from a module')
        result = sync_config(target)
        self.config = load_config(target)
        self._classes.clear()
        return result

    @staticmethod
    def discover_actions(path: str | os.PathLike[str]) -> dict[str, dict[str, str | None]]:
        """``{action: {'entrypoint', 'input_type', 'output_type'}}`` read from the source, importing nothing."""
        return _discover_actions(Path(path))


# --------------------------------------------------------------------------- helpers


def _cached_path(location: Path) -> PluginDiscovery:
    file = config_path(location)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f'Config file not found: {file}') from None
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            for stale in [k for k in _cache if k[0] == key[0]]:
                del _cache[stale]
            found = _cache[key] = PluginDiscovery.from_path(file)
        return found


def _code_in(folder: Path) -> str | None:
    file = folder / 'config.yaml'
    if not file.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data.get('code') if isinstance(data, dict) else None


def _importable(name: str) -> bool:
    """Whether ``name`` is a module or a regular package (a bare folder, a namespace package, is not)."""
    try:
        spec = importlib.util.find_spec(name)
        return spec is not None and spec.origin not in (None, 'namespace')
    except (ImportError, ValueError):
        return False
    except (Exception, SystemExit):  # a parent package fails to import: let the real import report it
        return True


def _module_actions(module: ModuleType) -> list[Any]:
    modules = [module]
    for info in pkgutil.walk_packages(getattr(module, '__path__', None) or [], prefix=f'{module.__name__}.'):
        modules.append(import_plugin_module(info.name, None))
    seen: set[int] = set()
    found = []
    for mod in modules:
        for value in list(vars(mod).values()):
            if id(value) not in seen and is_action(value):
                seen.add(id(value))
                found.append(value)
    return found


def _qualified(target: Any) -> str:
    return f'{target.__module__}.{target.__qualname__}'


def _slug(label: str) -> str:
    return re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-') or 'plugin'


def action_not_found(name: str, available: list[str], where: str = '', **details: Any) -> ActionNotFoundError:
    """``Action '<name>' not found[ <where>]; available actions: a, b`` with ``details['available']``."""
    listed = ', '.join(available) or 'none'
    return ActionNotFoundError(
        f"Action '{name}' not found{where}; available actions: {listed}", {'available': list(available), **details}
    )
