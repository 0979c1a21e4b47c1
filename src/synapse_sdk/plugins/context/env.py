"""Plugin environment variables with typed getters."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_TRUE = {'true', '1', 'yes', 'on', 'y'}
_FALSE = {'false', '0', 'no', 'off', 'n', ''}


class PluginEnvironment(Mapping[str, Any]):
    """An immutable mapping of settings with typed getters.

    Build it from a dict, from the process environment (``from_environ``) or a TOML file
    (``from_file``); ``merge`` combines several, later ones winning.
    """

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_environ(cls, prefix: str = '') -> PluginEnvironment:
        """Variables whose name starts with ``prefix``, with the prefix stripped."""
        return cls({k[len(prefix) :]: v for k, v in os.environ.items() if k.startswith(prefix) and k != prefix})

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PluginEnvironment:
        """Top-level keys of a TOML file (tables stay nested dicts)."""
        import tomllib

        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f'Config file not found: {file}')
        try:
            with file.open('rb') as fh:
                return cls(tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f'{file}: invalid TOML: {exc}') from exc

    def merge(self, *others: Mapping[str, Any] | None) -> PluginEnvironment:
        """A new environment: this one updated by each of ``others`` in turn (later wins)."""
        data = dict(self._data)
        for other in others:
            if other:
                data.update(other.to_dict() if isinstance(other, PluginEnvironment) else dict(other))
        return PluginEnvironment(data)

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f'PluginEnvironment(keys={sorted(self._data)})'

    def to_dict(self) -> dict[str, Any]:
        """A plain copy."""
        return dict(self._data)

    # ------------------------------------------------------------------ typed getters
    def get_str(self, key: str, default: str | None = None) -> str | None:
        """The value as a string."""
        value = self._data.get(key)
        return default if value is None else str(value)

    def get_int(self, key: str, default: int | None = None) -> int | None:
        """The value as an int; a value that is not one raises ``ValueError`` naming the key."""
        return self._convert(key, default, int, 'an integer')

    def get_float(self, key: str, default: float | None = None) -> float | None:
        """The value as a float."""
        return self._convert(key, default, float, 'a number')

    def get_bool(self, key: str, default: bool | None = None) -> bool | None:
        """``true|1|yes|on`` (any case) are true, ``false|0|no|off`` false."""
        value = self._data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f'Environment value {key}={value!r} is not a boolean; use true/false, 1/0 or yes/no')

    def get_list(self, key: str, default: list[str] | None = None, *, sep: str = ',') -> list[str] | None:
        """A comma-separated value as a list, blanks dropped: ``'a, b,,c'`` → ``['a', 'b', 'c']``."""
        value = self._data.get(key)
        if value is None:
            return default
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(sep) if part.strip()]

    def _convert(self, key: str, default: Any, kind: type, label: str) -> Any:
        value = self._data.get(key)
        if value is None or value == '':
            return default
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ValueError(f'Environment value {key}={value!r} is not {label}') from None
