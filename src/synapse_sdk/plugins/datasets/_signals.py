"""SIGTERM during a conversion cleans up like Ctrl-C: the staging folder goes before the process ends."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ['terminate_cleanly']


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # what a shell reports for a process ended by the signal


@contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` so that cleanup (``finally``, ``__exit__``) runs.

    Installed only in the main thread and only over the default action (a handler the host set stays in
    charge); the previous handler is back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
