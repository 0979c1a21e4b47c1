"""The ``synapse`` command line."""

from synapse_sdk.cli.app import app, main

__all__ = ['app', 'main']
