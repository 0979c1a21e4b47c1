"""Where in the user's code an error started: the innermost traceback frame outside the SDK.

An action that raises is reported as ``Action execution failed: <message>``; the frame named here
(``plugin/actions.py:12, in convert``) says which line of the plugin to look at without the full
traceback.
"""

from __future__ import annotations

import functools
import os
import sysconfig
import traceback
from pathlib import Path

__all__ = ['user_frame']

_SDK_DIR = Path(__file__).resolve().parents[1]  #: the ``synapse_sdk`` package


def user_frame(exc: BaseException) -> str | None:
    """``<file>:<line>, in <function>`` of the innermost frame in the user's code that led to ``exc``.

    The exceptions ``exc`` was raised from (``__cause__``, else ``__context__``) are searched from the
    original one outwards; frames of the SDK, the standard library and installed packages are not the
    user's. The file is shown relative to the working directory when it lies under it; None when no
    frame is the user's.
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in reversed(chain):
        frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_user_file(f.filename)]
        if frames:
            frame = frames[-1]
            return f'{_shown_path(frame.filename)}:{frame.lineno}, in {frame.name}'
    return None


@functools.cache
def _not_user_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {str(_SDK_DIR)}
    dirs.update(
        str(Path(paths[key]).resolve()) for key in ('stdlib', 'platstdlib', 'purelib', 'platlib') if key in paths
    )
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs)


def _is_user_file(filename: str) -> bool:
    if not filename or filename.startswith('<'):  # <frozen importlib._bootstrap>, <string>
        return False
    resolved = Path(filename).resolve()
    return not str(resolved).startswith(_not_user_dirs()) and resolved.is_file()


def _shown_path(filename: str) -> str:
    path = Path(filename).resolve()
    cwd = Path.cwd().resolve()
    if cwd == Path(cwd.anchor) or not path.is_relative_to(cwd):
        return str(path)
    return str(path.relative_to(cwd))
