"""Storage errors: every message names the provider and the path, never a credential."""

from __future__ import annotations

from synapse_sdk.exceptions import SynapseError

__all__ = ['StorageConfigError', 'StorageError', 'StorageNotFoundError', 'StorageReadOnlyError']


class StorageError(SynapseError):
    """A storage operation failed (the provider's message, with any credential masked)."""


class StorageConfigError(StorageError, ValueError):
    """A storage configuration is invalid: the message names each bad field and how to fix it."""


class StorageNotFoundError(StorageError, FileNotFoundError):
    """The path does not exist in the storage."""


class StorageReadOnlyError(StorageError):
    """The provider cannot write (HTTP storages are read-only)."""
