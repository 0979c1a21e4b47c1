"""Synapse plugin SDK: write, run and ship plugins for the Synapse annotation platform."""

from synapse_sdk._version import __version__

__all__ = ['__version__']
