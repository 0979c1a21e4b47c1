"""Export actions."""

from synapse_sdk.plugins.actions.export.action import BaseExportAction, ExportContext, ExportProgress

__all__ = ['BaseExportAction', 'ExportContext', 'ExportProgress']
