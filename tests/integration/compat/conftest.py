"""The reference SDK (the platform's own client, ``synapse-sdk`` on PyPI) in a Python 3.12 venv of its own.

The venv is made once per version and kept under ``~/.cache/synapse-sdk-tests/`` (the real home's, not
the suite's temporary one; ``SYNAPSE_TEST_CACHE`` moves it), so later runs only reuse it. Making it needs
PyPI; a Python 3.12 interpreter is looked up on ``PATH`` and under pyenv. Without one the tests skip,
saying so; any other failure (PyPI unreachable, a broken install) fails them.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The release of the platform's client whose calls the local backend must answer unchanged.
REFERENCE_VERSION = '2026.2.17'
_STAMP = '.synapse-sdk-tests-complete'
_INSTALL_TIMEOUT_S = 1500


def _real_home() -> Path:
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def cache_root() -> Path:
    override = os.environ.get('SYNAPSE_TEST_CACHE')
    return Path(override) if override else _real_home() / '.cache' / 'synapse-sdk-tests'


def _candidates() -> Iterator[str]:
    if os.environ.get('SYNAPSE_TEST_PYTHON312'):
        yield os.environ['SYNAPSE_TEST_PYTHON312']
    found = shutil.which('python3.12')
    if found:
        yield found
    for root in {_real_home() / '.pyenv', Path(os.environ.get('PYENV_ROOT', _real_home() / '.pyenv'))}:
        yield from (str(p) for p in sorted((root / 'versions').glob('3.12*/bin/python3.12'), reverse=True))
    yield from ('/usr/local/bin/python3.12', '/usr/bin/python3.12')


def find_python312() -> str | None:
    """A Python 3.12 that runs (a pyenv shim may refuse when 3.12 is not selected: then the next one)."""
    for candidate in _candidates():
        if not Path(candidate).exists():
            continue
        try:
            probe = subprocess.run(
                [candidate, '-c', 'import sys, venv; print(sys.version_info[:2] == (3, 12))'],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == 'True':
            return candidate
    return None


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        pytest.fail(f'{what} failed (exit {done.returncode}):\n{tail}', pytrace=False)


def reference_venv(python: str, version: str = REFERENCE_VERSION) -> Path:
    """The venv's interpreter, making the venv first when it is missing or was left half made."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f'reference-sdk-{version}'
    interpreter = venv / 'bin' / 'python'
    with open(root / f'reference-sdk-{version}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes make it once
        if (venv / _STAMP).is_file() and interpreter.exists():
            return interpreter
        shutil.rmtree(venv, ignore_errors=True)
        _run([python, '-m', 'venv', str(venv)], 'Making the reference SDK venv')
        pip = [str(interpreter), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
        _run([*pip, f'synapse-sdk=={version}'], f'Installing synapse-sdk=={version} from PyPI')
        (venv / _STAMP).write_text(version + '\n')
    return interpreter


@pytest.fixture(scope='session')
def reference_python() -> Path:
    """Python 3.12 with ``synapse-sdk==REFERENCE_VERSION`` installed (skips only when no 3.12 exists)."""
    python = find_python312()
    if python is None:
        pytest.skip(
            f'No Python 3.12 interpreter found (python3.12 on PATH, pyenv versions 3.12*, /usr/bin): '
            f'synapse-sdk=={REFERENCE_VERSION} requires Python >= 3.12; set SYNAPSE_TEST_PYTHON312 to one'
        )
    return reference_venv(python)
