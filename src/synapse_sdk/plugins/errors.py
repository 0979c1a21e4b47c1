"""Plugin errors: the ``PluginError`` branch of :mod:`synapse_sdk.exceptions`."""

from synapse_sdk.exceptions import (
    ActionDefinitionError,
    ActionNotFoundError,
    ConfigError,
    ConfigWarning,
    ExecutionError,
    ExecutorError,
    JobFailedError,
    MissingDependencyError,
    PluginError,
    PreProcessorError,
    RollbackError,
    SchemaIncompatibleError,
    StepError,
    ValidationError,
)

__all__ = [
    'ActionDefinitionError',
    'ActionNotFoundError',
    'ConfigError',
    'ConfigWarning',
    'ExecutionError',
    'ExecutorError',
    'JobFailedError',
    'MissingDependencyError',
    'PluginError',
    'PreProcessorError',
    'RollbackError',
    'SchemaIncompatibleError',
    'StepError',
    'ValidationError',
]
