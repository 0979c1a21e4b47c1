"""Executors run actions: in process here, on Ray in :mod:`synapse_sdk.plugins.executors.ray`."""

from synapse_sdk.plugins.executors.local import LocalExecutor

__all__ = ['LocalExecutor']
