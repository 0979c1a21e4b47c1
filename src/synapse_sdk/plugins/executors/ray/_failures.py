"""One clear line out of Ray's multi-line failure texts (runtime env setup, above all pip and uv).

When a plugin's ``requirements.txt`` cannot be installed, Ray reports a nested traceback of its
runtime env agent with the installer's output at the end. Users need the installer's own
``ERROR:`` line and where to fix it; the full text stays available to whoever wants it.
"""

from __future__ import annotations

import re

__all__ = ['is_runtime_env_failure', 'runtime_env_failure']

_MARKERS = ('runtime_env setup failed', 'Failed to set up runtime environment', 'RuntimeEnvSetupError')
#: An installer's error line: pip's ``ERROR: ...``, uv's ``error: ...`` or a line opened by uv's cross.
_INSTALLER_ERROR = re.compile('^\\s*(?:ERROR:|error:|\u00d7)\\s*\\S')
_NOISE = re.compile(r'^\s*(?:File "|Traceback |\^+$|~+$|\[Node [^\]]*\] Traceback|During handling|The above exception)')
#: Tree-drawing characters uv puts before a reason line.
_BOX = '\u2570\u2500\u25b6\u2502\u251c |'
_TIMEOUT = re.compile(r'Failed to install runtime_env within the timeout of (\d+) seconds')


def is_runtime_env_failure(text: str) -> bool:
    """Whether Ray's message says the job's or actor's runtime environment could not be set up."""
    return any(marker in text for marker in _MARKERS)


def _installer(text: str) -> str:
    return 'uv' if re.search(r"""['"\s/]uv['"\s]""", text) else 'pip'


def _last_meaningful_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _NOISE.match(line)]
    return lines[-1] if lines else text.strip()


def runtime_env_failure(text: str) -> str | None:
    """``installing requirements.txt failed: pip: ERROR: ...`` for a runtime env failure, else None.

    The installer's first error line is kept whole; without one, the last line of the text that is
    not part of a traceback.
    """
    if not is_runtime_env_failure(text):
        return None
    timeout = _TIMEOUT.search(text)
    if timeout:
        return (
            f'the runtime environment was not ready within {timeout.group(1)} s (installing requirements.txt '
            'takes longer): raise it with runtime_env: {config: {setup_timeout_seconds: 1800}} in config.yaml'
        )
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if _INSTALLER_ERROR.match(line):
            error = line.strip()
            following = [rest.strip() for rest in lines[number + 1 :] if rest.strip()]
            if error.endswith(':') and following:  # uv puts the reason on the next line
                error = f'{error} {following[0].lstrip(_BOX)}'
            return (
                f'installing the plugin requirements (requirements.txt) failed: {_installer(text)}: '
                f'{error.rstrip(".")}. Fix or remove that requirement in requirements.txt'
            )
    return f'the runtime environment could not be set up: {_last_meaningful_line(text)}'
