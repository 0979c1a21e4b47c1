"""``synapse plugin test``: run a plugin's actions locally with example params, one verdict each.

Example params are each field's default, else the first of its ``Field(examples=[...])``. An
action with a required field that has neither is skipped, with the fields named.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from synapse_sdk.exceptions import ExecutionError, StepError, SynapseError
from synapse_sdk.loggers import BaseLogger, NoOpLogger
from synapse_sdk.utils.redact import redact

__all__ = ['ActionCheck', 'CheckStatus', 'check_actions', 'example_params']


class CheckStatus(StrEnum):
    """Verdict of one action."""

    PASSED = 'passed'  #: ran and returned
    FAILED = 'failed'  #: raised
    SKIPPED = 'skipped'  #: no example value for a required field


@dataclass(frozen=True)
class ActionCheck:
    """The outcome of running one action."""

    action: str
    status: CheckStatus
    seconds: float
    detail: str = ''
    result: Any = None


def example_params(model: type[BaseModel]) -> tuple[dict[str, Any], list[str]]:
    """``(params, missing)``: example values per field, and required fields that have none."""
    params: dict[str, Any] = {}
    missing: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if not info.is_required():
            default = info.get_default(call_default_factory=True)
            if default is not PydanticUndefined:
                continue  # the model fills it in
        if info.examples:
            params[key] = info.examples[0]
        elif info.is_required():
            missing.append(key)
    return params, missing


def check_actions(
    path: str | os.PathLike[str],
    action: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    logger_factory: Callable[[], BaseLogger] = NoOpLogger,
) -> list[ActionCheck]:
    """Run every action of the plugin at ``path`` (or only ``action``, with ``params`` if given)."""
    from synapse_sdk.plugins.discovery import PluginDiscovery
    from synapse_sdk.plugins.runner import run_plugin

    discovery = PluginDiscovery.load(Path(path))
    keys = [action] if action is not None else discovery.list_actions()
    checks = []
    for key in keys:
        started = time.perf_counter()
        missing: list[str]
        try:
            if params is not None:
                values, missing = dict(params), []
            else:
                values, missing = example_params(discovery.get_action_params_model(key))
            if missing:
                detail = f'needs params: {", ".join(missing)} (pass --params or add Field(examples=[...]))'
                checks.append(ActionCheck(key, CheckStatus.SKIPPED, 0.0, detail))
                continue
            result = run_plugin(str(path), key, values, logger_factory=logger_factory)
        except (SynapseError, Exception) as exc:  # one verdict per action, whatever it raised
            detail = redact(_failure_detail(exc))
            checks.append(ActionCheck(key, CheckStatus.FAILED, time.perf_counter() - started, detail))
            continue
        checks.append(ActionCheck(key, CheckStatus.PASSED, time.perf_counter() - started, result=result))
    return checks


def _failure_detail(exc: BaseException) -> str:
    """The error on one line; for an action that raised, with the line of the plugin's code it came from."""
    from synapse_sdk.plugins._tracebacks import user_frame

    text = ' '.join(str(exc).split()) or type(exc).__name__
    where = user_frame(exc) if isinstance(exc, ExecutionError | StepError) else None
    return f'{text} ({where})' if where else text
