"""Upload actions: files from a storage into data units and tasks of a data collection."""

from synapse_sdk.plugins.actions.upload.action import BaseUploadAction, UploadContext, UploadProgress
from synapse_sdk.plugins.actions.upload.discovery import DiscoveryError, FileSpec, Plan, UnitPlan
from synapse_sdk.plugins.actions.upload.models import UnitFailure, UploadParams, UploadResult

__all__ = [
    'BaseUploadAction',
    'DiscoveryError',
    'FileSpec',
    'Plan',
    'UnitFailure',
    'UnitPlan',
    'UploadContext',
    'UploadParams',
    'UploadProgress',
    'UploadResult',
]
