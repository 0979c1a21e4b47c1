"""The two signals of a ToTask run. Neither reaches the caller: the SDK catches both.

- :class:`TaskFailed` (a :class:`~synapse_sdk.exceptions.SynapseError`): one task could not be
  annotated. Raise it from a hook with a message meant for the user; the task is recorded failed with
  that message and the run goes on.
- :class:`RunStopped` (a ``BaseException``): the run is stopping (Ctrl-C, a caller that stopped
  reading, a fatal error elsewhere); the task ends where it is, with no outcome. A ``BaseException`` so
  that no ``except Exception`` (a hook's, the flow's) records such a task as failed.
"""

from __future__ import annotations

from synapse_sdk.exceptions import SynapseError

__all__ = ['RunStopped', 'TaskFailed']


class TaskFailed(SynapseError):
    """A task-level failure; ``str()`` is the message the user sees."""


class RunStopped(BaseException):
    """The run is stopping: the task ends here, without an outcome."""
