"""Importing a plugin's entrypoints, each plugin's modules from its own folder.

Every scaffold keeps its code in a package named ``plugin``, so two plugins loaded in one process
(a pipeline, a test suite, a long-lived worker) would shadow each other through ``sys.modules``.
Before importing from a plugin folder, the modules of the entrypoint's top-level package that
belong to another folder are moved out of ``sys.modules`` into a per-folder stash; loading from
that other folder again puts them back, so classes keep their identity.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.plugins._function_action import is_action
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.config import parse_entrypoint
from synapse_sdk.utils.redact import redact

__all__ = ['activate', 'import_plugin_module', 'load_entrypoint']

_lock = threading.RLock()
_stash: dict[Path, dict[str, ModuleType]] = {}
_imported_at: weakref.WeakKeyDictionary[ModuleType, int | None] = weakref.WeakKeyDictionary()  # source mtimes


def load_entrypoint(
    entrypoint: str, plugin_dir: str | os.PathLike[str] | None = None, *, action: str | None = None
) -> Any:
    """The action class or ``@action`` function an entrypoint names.

    Args:
        entrypoint: ``pkg.mod:Name`` or ``pkg.mod.Name``.
        plugin_dir: the plugin folder its modules are imported from (default: ``sys.path`` as is).
        action: the action id, quoted in errors.

    Raises:
        ActionDefinitionError: the entrypoint is malformed, its module does not import (the
            message names the module and the error), it lacks the attribute, or the attribute is
            not an action.
    """
    label = f" of action '{action}'" if action else ''
    try:
        module_name, attr = parse_entrypoint(entrypoint)
    except ValueError as exc:
        raise ActionDefinitionError(f'Invalid entrypoint{label}: {exc}', {'entrypoint': entrypoint}) from None
    module = import_plugin_module(module_name, plugin_dir, entrypoint=entrypoint, label=label)
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise ActionDefinitionError(
            f"Entrypoint '{entrypoint}'{label}: module '{module_name}' has no attribute '{attr}'",
            {'entrypoint': entrypoint, 'module': module_name},
        ) from None
    if not is_action(target):
        raise ActionDefinitionError(
            f"Entrypoint '{entrypoint}'{label} is not an action: {_describe(target)}. "
            'Point it at a BaseAction subclass or an @action function',
            {'entrypoint': entrypoint},
        )
    return target


def import_plugin_module(
    module_name: str, plugin_dir: str | os.PathLike[str] | None, *, entrypoint: str = '', label: str = ''
) -> ModuleType:
    """Import ``module_name``, from ``plugin_dir`` when the folder holds its top-level package."""
    folder = Path(plugin_dir).resolve() if plugin_dir is not None else None
    top = module_name.partition('.')[0]
    with _lock:
        try:
            if folder is not None and _holds(folder, top):
                return _import_from(folder, top, module_name)
            return importlib.import_module(module_name)
        except ActionDefinitionError:
            raise
        except SystemExit as exc:  # sys.exit() at import time must not end the caller's process
            raise ActionDefinitionError(
                f"Cannot import module '{module_name}' for entrypoint '{entrypoint or module_name}'{label}: "
                f'it called sys.exit({exc.code!r}) while being imported; raise an exception instead',
                {'entrypoint': entrypoint, 'module': module_name, 'error': 'SystemExit'},
            ) from exc
        except Exception as exc:
            failed = getattr(exc, 'name', None) if isinstance(exc, ImportError) else None
            where = f" (while importing '{failed}')" if failed and failed != module_name else ''
            raise ActionDefinitionError(
                f"Cannot import module '{module_name}' for entrypoint '{entrypoint or module_name}'{label}{where}: "
                f'{type(exc).__name__}: {redact(str(exc))}',
                {'entrypoint': entrypoint, 'module': module_name, 'error': type(exc).__name__},
            ) from exc


def activate(entrypoint: str, plugin_dir: str | Path) -> None:
    """Make ``sys.modules`` hold this plugin's package again, so imports made while it runs find its modules."""
    folder = Path(plugin_dir).resolve()
    top = entrypoint.replace(':', '.').partition('.')[0]
    with _lock:
        current = sys.modules.get(top)
        if current is None or _home(current) == folder or not _holds(folder, top):
            return
        _evict(top, current)
        if folder in _stash and top in _stash[folder]:
            sys.modules.update(_stash.pop(folder))


def _holds(folder: Path, top: str) -> bool:
    return (folder / top).is_dir() or (folder / f'{top}.py').is_file()


def _import_from(folder: Path, top: str, module_name: str) -> ModuleType:
    current = sys.modules.get(top)
    if current is not None and _home(current) != folder:
        _evict(top, current)
    if top not in sys.modules and folder in _stash and top in _stash[folder]:
        sys.modules.update(_stash.pop(folder))
    if top in sys.modules and _source_changed(top):
        for name in _family(top):  # edited since imported: import the plugin's modules afresh
            del sys.modules[name]
    importlib.invalidate_caches()
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module_name)
    finally:
        if added and str(folder) in sys.path:
            sys.path.remove(str(folder))
        _record_sources(top)


def _family(top: str) -> list[str]:
    return [name for name in sys.modules if name == top or name.startswith(f'{top}.')]


def _mtime(module: ModuleType | None) -> int | None:
    file = getattr(module, '__file__', None)
    try:
        return Path(file).stat().st_mtime_ns if file else None
    except OSError:
        return None


def _source_changed(top: str) -> bool:
    for name in _family(top):
        module = sys.modules[name]
        recorded = _imported_at.get(module)
        if recorded is not None and recorded != _mtime(module):
            return True
    return False


def _record_sources(top: str) -> None:
    for name in _family(top):
        module = sys.modules[name]
        if module not in _imported_at:
            _imported_at[module] = _mtime(module)


def _home(module: ModuleType) -> Path | None:
    """The folder that holds a top-level module or package."""
    locations = list(getattr(module, '__path__', []) or [])
    if locations:
        return Path(locations[0]).resolve().parent
    file = getattr(module, '__file__', None)
    return Path(file).resolve().parent if file else None


def _evict(top: str, current: ModuleType) -> None:
    names = _family(top)
    home = _home(current)
    moved = {name: sys.modules.pop(name) for name in names}
    if home is not None:
        _stash.setdefault(home, {}).update(moved)


def _describe(target: object) -> str:
    if isinstance(target, type) and issubclass(target, BaseAction):
        missing = ', '.join(sorted(getattr(target, '__abstractmethods__', ()))) or 'its params model'
        return f'class {target.__name__} is abstract (it does not define {missing})'
    if isinstance(target, type):
        return f'class {target.__name__} does not subclass BaseAction'
    if callable(target):
        return f'function {getattr(target, "__name__", target)!r} is not decorated with @action'
    return f'{type(target).__name__} value {target!r}'
