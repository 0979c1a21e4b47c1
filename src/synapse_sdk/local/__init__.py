"""The embedded local backend: the platform API on FastAPI + SQLite, for a machine with no account.

Needs the ``local`` extra (``pip install 'synapse-sdk[local]'``).
"""

from __future__ import annotations

from typing import Any

from synapse_sdk.exceptions import MissingDependencyError

try:
    import fastapi  # noqa: F401
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError(
        "The local backend needs FastAPI and SQLAlchemy: pip install 'synapse-sdk[local]'"
    ) from exc

__all__ = ['LocalPaths', 'create_app', 'init_local', 'local_dir']

_LAZY = {
    'LocalPaths': 'synapse_sdk.local.paths',
    'local_dir': 'synapse_sdk.local.paths',
    'create_app': 'synapse_sdk.local.app',
    'init_local': 'synapse_sdk.local.setup',
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synapse_sdk.local' has no attribute '{name}'")
