"""Plugin enums, re-exported from :mod:`synapse_sdk.enums`."""

from synapse_sdk.enums import (
    AnnotationCategory,
    AnnotationTool,
    AnnotationType,
    DataType,
    ExecutionMode,
    JobStatus,
    LogLevel,
    PackageManager,
    PluginCategory,
    RunMethod,
    ServeAppStatus,
    SmartToolType,
)

__all__ = [
    'AnnotationCategory',
    'AnnotationTool',
    'AnnotationType',
    'DataType',
    'ExecutionMode',
    'JobStatus',
    'LogLevel',
    'PackageManager',
    'PluginCategory',
    'RunMethod',
    'ServeAppStatus',
    'SmartToolType',
]
