"""``BaseAction.autolog(framework)``: framework integrations register here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_INTEGRATIONS: dict[str, Callable[[Any], None]] = {}


def register_autolog(framework: str, hook: Callable[[Any], None]) -> None:
    """Register ``hook(action)`` as the autolog integration of ``framework``."""
    _INTEGRATIONS[framework.lower()] = hook


def enable_autolog(action: Any, framework: str) -> None:
    """Call the integration registered for ``framework``; unknown frameworks raise ``ValueError``."""
    hook = _INTEGRATIONS.get(framework.lower())
    if hook is None:
        known = ', '.join(sorted(_INTEGRATIONS)) or 'none yet'
        raise ValueError(
            f"autolog: no integration for framework '{framework}' (available: {known}). "
            'Report progress with set_progress() and metrics with set_metrics() instead'
        )
    hook(action)
