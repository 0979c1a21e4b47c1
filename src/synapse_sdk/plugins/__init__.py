"""The plugin core: actions, context, discovery, steps, pipelines and executors.

Only the light core is imported eagerly; everything else loads on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.action import BaseAction, NoResult
from synapse_sdk.plugins.context import PluginEnvironment, RuntimeContext
from synapse_sdk.plugins.decorators import action

if TYPE_CHECKING:
    from synapse_sdk.plugins.actions.export import BaseExportAction
    from synapse_sdk.plugins.actions.inference import BaseInferenceAction
    from synapse_sdk.plugins.actions.train import BaseTrainAction
    from synapse_sdk.plugins.actions.upload import BaseUploadAction
    from synapse_sdk.plugins.discovery import PluginDiscovery
    from synapse_sdk.plugins.executors import LocalExecutor
    from synapse_sdk.plugins.pipelines import ActionPipeline
    from synapse_sdk.plugins.runner import run_plugin

__all__ = [
    'ActionPipeline',
    'BaseAction',
    'BaseExportAction',
    'BaseInferenceAction',
    'BaseTrainAction',
    'BaseUploadAction',
    'LocalExecutor',
    'NoResult',
    'PluginDiscovery',
    'PluginEnvironment',
    'RuntimeContext',
    'action',
    'run_plugin',
]

_LAZY = {
    'ActionPipeline': 'synapse_sdk.plugins.pipelines',
    'BaseExportAction': 'synapse_sdk.plugins.actions.export',
    'BaseInferenceAction': 'synapse_sdk.plugins.actions.inference',
    'BaseTrainAction': 'synapse_sdk.plugins.actions.train',
    'BaseUploadAction': 'synapse_sdk.plugins.actions.upload',
    'LocalExecutor': 'synapse_sdk.plugins.executors',
    'PluginDiscovery': 'synapse_sdk.plugins.discovery',
    'run_plugin': 'synapse_sdk.plugins.runner',
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
