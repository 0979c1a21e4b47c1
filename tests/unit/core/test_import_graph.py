"""The package's import graph: layers point one way, ``to_task`` has no cycle, the core reaches clients at one seam.

The graph is read from the source (``ast``), and it counts every way a module names another: ``import``
and ``from ... import`` (also under ``TYPE_CHECKING`` and inside functions) and string literals that
name a module of the package (``importlib.import_module('synapse_sdk.clients')``; logger names aside).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import synapse_sdk

ROOT = Path(synapse_sdk.__file__).parent
MODULE_NAME = re.compile(r'synapse_sdk(\.[A-Za-z_][A-Za-z0-9_]*)*')
SEAM = 'synapse_sdk.plugins._backend'  #: the plugin core's one module that names the client package
ABOVE_THE_CORE = ('synapse_sdk.clients', 'synapse_sdk.local', 'synapse_sdk.cli', 'synapse_sdk.connect')


def module_names(root: Path, package: str) -> dict[str, Path]:
    names = {}
    for path in root.rglob('*.py'):
        parts = path.relative_to(root).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        names['.'.join((package, *parts))] = path
    return names


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The known module ``name`` is, or is inside (``a.b.C`` -> ``a.b``)."""
    while name and name not in known:
        name = name.rpartition('.')[0]
    return name or None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of the package that ``module`` names."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    is_package = path.name == '__init__.py'
    found: set[str] = set()
    logger_names = {  # ``logging.getLogger('synapse_sdk.clients')`` names a logger, not a module
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, 'attr', getattr(node.func, 'id', None)) == 'getLogger'
        and node.args
    }
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = module.split('.') if is_package else module.split('.')[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = '.'.join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` names the module ``pkg.sub``; ``from mod import name`` names ``mod``
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value):
            targets = [] if id(node) in logger_names else [node.value]
        for target in targets:
            if target.startswith('synapse_sdk'):
                resolved = _resolve(target, known)
                if resolved is not None and resolved != module:
                    found.add(resolved)
    return found


def graph_of(root: Path, package: str) -> dict[str, set[str]]:
    known = module_names(root, package)
    return {module: imports_of(module, path, known) for module, path in known.items()}


def cycles(graph: dict[str, set[str]], package: str) -> list[list[str]]:
    """The import cycles among the modules of ``package`` (strongly connected components, Tarjan)."""
    nodes = sorted(m for m in graph if m == package or m.startswith(package + '.'))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node] & set(nodes)):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def within(module: str, *layers: str) -> bool:
    """Whether ``module`` is one of ``layers`` or inside one."""
    return any(module == layer or module.startswith(layer + '.') for layer in layers)


def core_offenders(graph: dict[str, set[str]]) -> list[str]:
    """Modules of the plugin core (other than the seam) that name a layer above it."""
    return sorted(
        f'{module} -> {target}'
        for module, targets in graph.items()
        if within(module, 'synapse_sdk.plugins') and module != SEAM
        for target in targets
        if within(target, *ABOVE_THE_CORE)
    )


@pytest.fixture(scope='module')
def graph() -> dict[str, set[str]]:
    return graph_of(ROOT, 'synapse_sdk')


def test_to_task_has_no_import_cycle(graph):
    assert cycles(graph, 'synapse_sdk.plugins.actions.to_task') == []


def test_the_plugin_core_reaches_clients_only_through_its_one_seam(graph):
    assert core_offenders(graph) == []
    assert graph[SEAM] == {
        'synapse_sdk.connect',
        'synapse_sdk.clients.credentials',
        'synapse_sdk.clients.base.download',
        'synapse_sdk.clients.backend.client',
    }


def test_clients_never_import_what_sits_above_them(graph):
    above = ('synapse_sdk.local', 'synapse_sdk.connect', 'synapse_sdk.cli', 'synapse_sdk.plugins')
    offenders = sorted(
        f'{module} -> {target}'
        for module, targets in graph.items()
        if within(module, 'synapse_sdk.clients')
        for target in targets
        if within(target, *above)
    )
    assert offenders == []


def test_no_cycle_runs_through_clients_local_or_connect(graph):
    layers = ('synapse_sdk.clients', 'synapse_sdk.local', 'synapse_sdk.connect')
    assert [cycle for cycle in cycles(graph, 'synapse_sdk') if any(within(m, *layers) for m in cycle)] == []


def test_the_guard_sees_string_imports_type_checking_imports_and_cycles(tmp_path):
    """The checks above can fail: a small tree with each kind of offence is caught."""
    pkg = tmp_path / 'synapse_sdk'
    files = {
        'clients/__init__.py': '',
        'plugins/__init__.py': '',
        'plugins/_backend.py': "import importlib\nimportlib.import_module('synapse_sdk.clients')\n",
        'plugins/sneaky.py': "import importlib\nclients = importlib.import_module('synapse_sdk.clients')\n",
        'plugins/typed.py': (
            'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from synapse_sdk.clients import X\n'
        ),
        'plugins/actions/to_task/__init__.py': 'from synapse_sdk.plugins.actions.to_task.a import A\n',
        'plugins/actions/to_task/a.py': 'from synapse_sdk.plugins.actions.to_task import b\nA = 1\n',
        'plugins/actions/to_task/b.py': 'def f():\n    from .a import A\n    return A\n',
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    small = graph_of(pkg, 'synapse_sdk')
    assert core_offenders(small) == [
        'synapse_sdk.plugins.sneaky -> synapse_sdk.clients',
        'synapse_sdk.plugins.typed -> synapse_sdk.clients',
    ]
    assert cycles(small, 'synapse_sdk.plugins.actions.to_task') == [
        ['synapse_sdk.plugins.actions.to_task.a', 'synapse_sdk.plugins.actions.to_task.b']
    ]


def test_no_module_of_the_plugin_core_imports_an_http_stack():
    """All HTTP lives in ``clients/``: the core (ToTask's fast path included) never imports aiohttp or httpx."""
    offenders = []
    for path in (ROOT / 'plugins').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f'{path.relative_to(ROOT)}: {n}' for n in names if n.split('.')[0] in ('aiohttp', 'httpx')]
    assert offenders == []
