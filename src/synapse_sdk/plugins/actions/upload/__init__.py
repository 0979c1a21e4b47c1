"""Upload actions."""

from synapse_sdk.plugins.actions.upload.action import BaseUploadAction, UploadContext, UploadProgress

__all__ = ['BaseUploadAction', 'UploadContext', 'UploadProgress']
