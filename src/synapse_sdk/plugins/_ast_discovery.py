"""Finding a plugin's actions by reading its source (``ast``), importing none of it.

A class is an action when it subclasses a ``*Action`` class imported from ``synapse_sdk`` or
another action class of the plugin; ``Base*``/``_*`` classes and ``Generic`` bases are treated as
abstract. A function is an action when it is decorated with ``@action``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from synapse_sdk.exceptions import ActionDefinitionError

_SKIP_DIRS = {'__pycache__', 'tests', 'test', 'venv', 'build', 'dist', 'node_modules', 'wheels', 'site-packages'}
_KNOWN_BASES = {'BaseAction'}
_IDENT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


@dataclass
class _ClassInfo:
    module: str
    name: str
    bases: list[str]
    attrs: dict[str, str | None] = field(default_factory=dict)
    abstract: bool = False


@dataclass
class _Module:
    name: str
    file: Path
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> source module


def discover_actions(path: str | Path) -> dict[str, dict[str, str | None]]:
    """``{action: {'entrypoint', 'input_type', 'output_type'}}`` for every action under ``path``.

    ``path`` is a plugin folder or its ``config.yaml``. Entrypoints are dotted
    (``plugin.train.TrainAction``); types are semantic type names (``yolo_dataset``) or None.

    Raises:
        ActionDefinitionError: a source file does not parse, or two actions share a name.
    """
    root = Path(path)
    root = root.parent if root.is_file() else root
    modules = [_parse(root, file) for file in _python_files(root)]
    classes = {(m.name, c.name): c for m in modules for c in _classes(m)}
    action_classes = _action_classes(modules, classes)
    found: dict[str, dict[str, str | None]] = {}
    for name, entry in [*_class_entries(action_classes), *_function_entries(modules)]:
        if name in found:
            raise ActionDefinitionError(
                f"Two actions are named '{name}': {found[name]['entrypoint']} and {entry['entrypoint']}; "
                'give one of them another action_name',
                {'action': name},
            )
        found[name] = entry
    return found


def _python_files(root: Path) -> list[Path]:
    files = []
    for file in sorted(root.rglob('*.py')):
        parts = file.relative_to(root).parts
        if any(p.startswith('.') or p in _SKIP_DIRS for p in parts[:-1]):
            continue
        if parts != ('__init__.py',) and all(_IDENT.match(p) for p in [*parts[:-1], file.stem]):
            files.append(file)
    return files


def _parse(root: Path, file: Path) -> _Module:
    parts = list(file.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))  # bytes: PEP 263 coding cookies apply
    except SyntaxError as exc:
        raise ActionDefinitionError(
            f'{file}: line {exc.lineno}: cannot parse: {exc.msg}', {'file': str(file), 'line': exc.lineno}
        ) from None
    except ValueError as exc:  # Python 3.11: null bytes in the source
        raise ActionDefinitionError(f'{file}: cannot parse: {exc}', {'file': str(file)}) from None
    module = _Module('.'.join(parts), file, tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                module.imports[alias.asname or alias.name] = node.module
    return module


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ''


def _classes(module: _Module) -> list[_ClassInfo]:
    out = []
    for node in module.tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        info = _ClassInfo(module.name, node.name, [_base_name(b) for b in node.bases])
        info.abstract = node.name.startswith(('Base', '_')) or 'Generic' in info.bases
        for stmt in node.body:
            target, value = _assignment(stmt)
            if target in ('action_name', 'input_type', 'output_type'):
                info.attrs[target] = _literal_or_name(value)
        out.append(info)
    return out


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id, stmt.value
    return None, None


def _literal_or_name(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        return _type_name(_base_name(node))
    return None


def _type_name(class_name: str) -> str | None:
    from synapse_sdk.plugins import types

    cls = getattr(types, class_name, None)
    return getattr(cls, 'name', None) if isinstance(cls, type) else None


def _action_classes(modules: list[_Module], classes: dict[tuple[str, str], _ClassInfo]) -> list[_ClassInfo]:
    imports = {m.name: m.imports for m in modules}
    is_action: dict[tuple[str, str], bool] = {}

    def check(key: tuple[str, str], seen: frozenset[tuple[str, str]]) -> bool:
        if key in is_action:
            return is_action[key]
        info = classes[key]
        result = False
        for base in info.bases:
            source = imports[info.module].get(base)
            local = (info.module, base) if (info.module, base) in classes else None
            if local is None and source is not None and (source, base) in classes:
                local = (source, base)
            if local is not None and local not in seen:
                result = check(local, seen | {key})
            elif source is not None and source.startswith('synapse_sdk') and base.endswith('Action'):
                result = True
            elif base in _KNOWN_BASES and local is None:
                result = True
            if result:
                break
        is_action[key] = result
        return result

    return [info for key, info in classes.items() if check(key, frozenset()) and not info.abstract]


def _class_entries(infos: list[_ClassInfo]) -> list[tuple[str, dict[str, str | None]]]:
    return [
        (
            info.attrs.get('action_name') or default_action_name(info.name),
            {
                'entrypoint': f'{info.module}.{info.name}',
                'input_type': info.attrs.get('input_type'),
                'output_type': info.attrs.get('output_type'),
            },
        )
        for info in infos
    ]


def default_action_name(class_name: str) -> str:
    """``TrainAction`` → ``train``; ``ImageInferenceAction`` → ``image_inference``."""
    stem = class_name.removesuffix('Action') or class_name
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', stem).lower()


def _function_entries(modules: list[_Module]) -> list[tuple[str, dict[str, str | None]]]:
    out = []
    for module in modules:
        for node in module.tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                if _base_name(call.func if call else decorator) != 'action':
                    continue
                name = node.name
                if call is not None:
                    given = [kw.value for kw in call.keywords if kw.arg == 'name'] or call.args[:1]
                    literal = given[0] if given else None
                    if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                        name = literal.value
                entry = {'entrypoint': f'{module.name}.{node.name}', 'input_type': None, 'output_type': None}
                out.append((name, entry))
    return out
