"""Loggers: structured events, per-step progress with ETA, and metrics.

Every logger shares :class:`BaseLogger`'s bookkeeping and differs only in where entries go.
"""

from synapse_sdk.loggers._base import BaseLogger, LogEntry, ProgressRecord
from synapse_sdk.loggers._console import ConsoleLogger
from synapse_sdk.loggers._file import JsonLinesLogger
from synapse_sdk.loggers._job import BackendLogger, JobLogger
from synapse_sdk.loggers._memory import MemoryLogger, NoOpLogger

__all__ = [
    'BackendLogger',
    'BaseLogger',
    'ConsoleLogger',
    'JobLogger',
    'JsonLinesLogger',
    'LogEntry',
    'MemoryLogger',
    'NoOpLogger',
    'ProgressRecord',
]
