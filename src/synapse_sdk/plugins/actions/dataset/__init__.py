"""The built-in dataset action: download, or convert between formats."""

from synapse_sdk.plugins.actions.dataset.action import DatasetAction, DatasetOperation, DatasetParams, DatasetResult

__all__ = ['DatasetAction', 'DatasetOperation', 'DatasetParams', 'DatasetResult']
