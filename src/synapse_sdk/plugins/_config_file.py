"""Reading ``config.yaml``: safe YAML, and errors that name the file, line and column."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from synapse_sdk.exceptions import ConfigError
from synapse_sdk.plugins.config import PluginConfig

if TYPE_CHECKING:
    import yaml

CONFIG_FILE = 'config.yaml'


def config_path(path: Path) -> Path:
    """``path`` itself when it is a file (or names a ``config.yaml``), else ``<path>/config.yaml``."""
    return path if path.is_file() or path.name == CONFIG_FILE else path / CONFIG_FILE


def read_config(path: Path) -> PluginConfig:
    """Load and validate the config file at (or inside) ``path``."""
    file = config_path(path)
    if not file.is_file():
        raise FileNotFoundError(f'Config file not found: {file}')
    data, root = parse_yaml(file)
    try:
        return PluginConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(format_errors(file, exc, root), {'file': str(file), 'errors': _plain(exc)}) from None


def parse_yaml(file: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The mapping in ``file`` and its YAML node tree (for line numbers)."""
    import yaml

    text = read_text(file)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f'line {mark.line + 1}, column {mark.column + 1}' if mark is not None else 'unknown position'
        problem = exc.problem or exc.context or 'invalid YAML'
        raise ConfigError(
            f'{file}: invalid YAML at {where}: {problem}',
            {'file': str(file), 'line': mark.line + 1 if mark else None, 'column': mark.column + 1 if mark else None},
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'{file}: invalid YAML: {exc}', {'file': str(file)}) from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(f'{file}: the file is empty; it needs at least `name:` and `code:`', {'file': str(file)})
    if not isinstance(data, dict):
        raise ConfigError(
            f'{file}: the top level must be a mapping of keys to values, got {type(data).__name__}',
            {'file': str(file)},
        )
    return data, root


def read_text(file: Path) -> str:
    """The UTF-8 text of ``file``; a file in another encoding is a ``ConfigError`` naming it."""
    data = file.read_bytes()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f'{file}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the file as UTF-8',
            {'file': str(file)},
        ) from None


def format_errors(file: Path, exc: pydantic.ValidationError, root: yaml.Node | None) -> str:
    """One line naming the file and, per error, the line, the key and what is wrong."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err['loc']]
        key = '.'.join(loc)
        line = _line_of(root, loc)
        where = f'line {line}: ' if line else ''
        if err['type'] == 'missing':
            parts.append(f"{where}missing required field '{key}'")
            continue
        msg = str(err['msg']).removeprefix('Value error, ')
        if err['type'] in ('model_type', 'model_attributes_type', 'dict_type'):
            msg = f'must be a mapping of keys to values, got {_yaml_type(err.get("input"))}'
            if len(loc) == 2 and loc[0] == 'actions':
                msg += " (e.g. 'entrypoint: plugin.module:Name')"
        if 'enum' in err['type'] or err['type'] == 'literal_error':
            msg = f'{msg}, got {err.get("input")!r}'
        parts.append(f'{where}{key}: {msg}' if key else f'{where}{msg}')
    return f'{file}: ' + '; '.join(parts)


def _yaml_type(value: Any) -> str:
    """``a string 'x'``, ``a number 3``, ``a list``: what YAML gave instead of a mapping."""
    if isinstance(value, list):
        return 'a list'
    names = {str: 'a string', int: 'a number', float: 'a number', bool: 'a boolean'}
    shown = repr(value) if len(repr(value)) <= 60 else f'{repr(value)[:57]}...'
    return f'{names.get(type(value), type(value).__name__)} {shown}'


def _plain(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    return [
        {'loc': list(e['loc']), 'msg': e['msg'], 'type': e['type']}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _line_of(root: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` found in the YAML tree."""
    import yaml

    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def write_atomic(file: Path, text: str) -> None:
    """Replace ``file`` with ``text`` atomically (temp file in the same folder, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f'.{file.name}.', suffix='.tmp', dir=file.parent)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as fh:
            fh.write(text)
        if file.exists():
            os.chmod(tmp, file.stat().st_mode & 0o777)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
