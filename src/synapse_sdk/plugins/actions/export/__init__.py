"""Export actions: ``BaseExportAction`` and the pieces it exports with."""

from synapse_sdk.plugins.actions.export.action import BaseExportAction, ExportContext, ExportParams, ExportProgress
from synapse_sdk.plugins.actions.export.items import ExportItem
from synapse_sdk.plugins.actions.export.report import ExportReport, ItemOutcome

__all__ = [
    'BaseExportAction',
    'ExportContext',
    'ExportItem',
    'ExportParams',
    'ExportProgress',
    'ExportReport',
    'ItemOutcome',
]
