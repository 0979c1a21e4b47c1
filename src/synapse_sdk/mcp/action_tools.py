"""One MCP tool per action of a plugin: its params schema is the tool's input schema.

A call runs the action in this process (:func:`synapse_sdk.plugins.runner.run_plugin`, local mode),
with the params exactly as given, so a call that fails the action's schema gets the message
``synapse plugin run`` prints (``Parameter validation failed: <field>: <problem>; ...``).

Actions that write to the backend run as dry runs unless the call says ``"dry_run": false``:

* an action whose params have a ``dry_run`` switch (ToTask's) gets ``dry_run: true`` unless the call
  sets it; the schema shows that default;
* an action that writes and has no dry-run notion (a deployment, an upload, a training run that
  registers a model) is not run: its params are checked and shown, and the result says how to run it.
  Its schema gains a ``dry_run`` switch (default true) that the action itself never sees.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from synapse_sdk.enums import PluginCategory
from synapse_sdk.mcp.tools import TOOL_NAME, ToolHints, ToolSpec
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.discovery import PluginDiscovery

__all__ = ['DRY_RUN', 'WritePolicy', 'action_tools', 'write_policy']

DRY_RUN = 'dry_run'
_BASES = 'synapse_sdk.plugins.actions'
_TO_TASK = f'{_BASES}.to_task.action.ToTaskAction'
#: action bases that write to the backend without a dry-run switch, and what they write
_WRITERS = {
    f'{_BASES}.inference.deployment.BaseDeploymentAction': 'deploys a model server on Ray Serve',
    f'{_BASES}.upload.action.BaseUploadAction': 'uploads files and creates data units',
    f'{_BASES}.train.action.BaseTrainAction': 'trains and registers a model',
}
_READERS = {f'{_BASES}.inference.action.BaseInferenceAction', f'{_BASES}.dataset.action.DatasetAction'}
_EXPORT = f'{_BASES}.export.action.BaseExportAction'


class WritePolicy(StrEnum):
    """How a call of an action tool treats writes."""

    NONE = 'none'  #: the action does not write to the backend (as far as its base class says)
    SWITCH = 'switch'  #: the params have a ``dry_run`` switch: it defaults to true
    REFUSE = 'refuse'  #: writes without a dry-run notion: run only with ``dry_run: false``


def action_tools(discovery: PluginDiscovery) -> list[ToolSpec]:
    """A tool per action of the plugin at ``discovery.path`` (each action's module is imported)."""
    if discovery.path is None:
        raise ValueError('action tools need a plugin folder (PluginDiscovery.from_path)')
    return [_action_tool(discovery, key) for key in discovery.list_actions()]


def write_policy(action_cls: type[BaseAction[Any]]) -> WritePolicy:
    """Whether the action writes, and how a dry run of it is made."""
    if DRY_RUN in action_cls.params_model.model_fields:
        return WritePolicy.SWITCH
    names = _base_names(action_cls)
    if _TO_TASK in names or action_cls.category is PluginCategory.PRE_ANNOTATION or names & _WRITERS.keys():
        return WritePolicy.REFUSE
    return WritePolicy.NONE


def _action_tool(discovery: PluginDiscovery, key: str) -> ToolSpec:
    action_cls = discovery.get_action_class(key)
    policy = write_policy(action_cls)
    description = discovery.get_action_config(key).description or action_cls.description or f'Run the {key} action'
    name = key if TOOL_NAME.match(key) else _tool_name(key)
    return ToolSpec(
        name=name,
        title=f'{discovery.config.name}: {key}',
        description=_description(description, policy, action_cls),
        input_schema=_input_schema(action_cls, policy),
        hints=_hints(action_cls, policy),
        call=_runner(Path(str(discovery.path)), key, action_cls, policy),
    )


def _tool_name(key: str) -> str:
    cleaned = ''.join(c if c.isalnum() or c in '_-' else '_' for c in key)[:64]
    if not cleaned:
        raise ValueError(f'action {key!r} has no characters an MCP tool name can use')
    return cleaned


def _description(text: str, policy: WritePolicy, action_cls: type[BaseAction[Any]]) -> str:
    if policy is WritePolicy.SWITCH:
        return f'{text}. Runs as a dry run (writes nothing) unless called with "dry_run": false.'
    if policy is WritePolicy.REFUSE:
        return f'{text}. It {_writes(action_cls)}: it runs only when called with "dry_run": false.'
    return text


def _input_schema(action_cls: type[BaseAction[Any]], policy: WritePolicy) -> dict[str, Any]:
    schema = copy.deepcopy(action_cls.params_model.model_json_schema())
    schema.setdefault('type', 'object')
    properties = schema.setdefault('properties', {})
    if policy is WritePolicy.SWITCH:
        switch = dict(properties.get(DRY_RUN) or {'type': 'boolean'})
        switch['default'] = True
        properties[DRY_RUN] = switch
    elif policy is WritePolicy.REFUSE:
        properties[DRY_RUN] = {
            'type': 'boolean',
            'default': True,
            'title': 'Dry Run',
            'description': 'Only check the params (true, the default); false runs the action, which writes',
        }
    return schema


def _hints(action_cls: type[BaseAction[Any]], policy: WritePolicy) -> ToolHints:
    """Side effects by base class; a plain custom action may do anything, so it gets MCP's cautious defaults."""
    names = _base_names(action_cls)
    if policy is WritePolicy.SWITCH or _TO_TASK in names:
        # overwrites task data when not a dry run; a repeat writes the same data again
        return ToolHints(read_only=False, destructive=True, idempotent=True, open_world=True)
    if f'{_BASES}.inference.deployment.BaseDeploymentAction' in names:
        # replaces the Serve application of the same name with the same one
        return ToolHints(read_only=False, destructive=True, idempotent=True, open_world=True)
    if names & _WRITERS.keys():  # uploads and trainings add new objects on every run
        return ToolHints(read_only=False, destructive=False, idempotent=False, open_world=True)
    if names & _READERS:
        return ToolHints(read_only=True, destructive=False, idempotent=True, open_world=True)
    if _EXPORT in names:  # writes export files locally, the same files again on a repeat
        return ToolHints(read_only=False, destructive=False, idempotent=True, open_world=True)
    return ToolHints(read_only=False, destructive=True, idempotent=False, open_world=True)


def _runner(
    folder: Path, key: str, action_cls: type[BaseAction[Any]], policy: WritePolicy
) -> Callable[[dict[str, Any]], Any]:
    def call(arguments: dict[str, Any]) -> Any:
        params = dict(arguments)
        if policy is WritePolicy.SWITCH:
            params.setdefault(DRY_RUN, True)
        elif policy is WritePolicy.REFUSE:
            switch = params.pop(DRY_RUN, True)
            if not isinstance(switch, bool):
                raise _bad_switch(switch)
            if switch:
                return _not_run(key, action_cls, params)
        return _run(folder, key, params)

    return call


def _run(folder: Path, key: str, params: dict[str, Any]) -> Any:
    from synapse_sdk.loggers import MemoryLogger
    from synapse_sdk.plugins.runner import run_plugin

    # MemoryLogger: a console logger would write progress bars into the MCP client's stderr log
    return run_plugin(str(folder), key, params, logger_factory=MemoryLogger)


def _not_run(key: str, action_cls: type[BaseAction[Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The dry run of an action with no dry-run notion: check its params, run nothing."""
    from synapse_sdk.plugins.executors._run import validate_params

    validated = validate_params(action_cls, params)
    return {
        'dry_run': True,
        'ran': False,
        'action': key,
        'params': validated.model_dump(mode='json'),
        'message': f'Dry run: the params are valid; {key} was not run because it {_writes(action_cls)}. '
        'Call it again with "dry_run": false to run it.',
    }


def _bad_switch(value: Any) -> Exception:
    from synapse_sdk.exceptions import ValidationError

    return ValidationError(
        f'Parameter validation failed: {DRY_RUN}: expected true or false, got {type(value).__name__} {value!r}',
        {'errors': [{'loc': [DRY_RUN], 'msg': 'expected a boolean', 'type': 'bool_type'}]},
    )


def _writes(action_cls: type[BaseAction[Any]]) -> str:
    names = _base_names(action_cls)
    for base, what in _WRITERS.items():
        if base in names:
            return what
    return 'writes task data'


def _base_names(action_cls: type) -> set[str]:
    """The dotted names of the class and its bases (no import of the bases needed to compare)."""
    return {f'{c.__module__}.{c.__qualname__}' for c in action_cls.__mro__}
