"""Requirement lines the Ray runtime environment accepts."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from synapse_sdk.plugins.executors.ray._runtime_env import read_requirements


@settings(deadline=None)  # the first example imports packaging.requirements (~0.1 s on a busy machine)
@given(st.from_regex(r'[A-Za-z]([A-Za-z0-9_.-]{0,18}[A-Za-z0-9])?(==[0-9]{1,3}(\.[0-9]{1,3}){0,2})?', fullmatch=True))
def test_any_simple_requirement_is_accepted(line):
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / 'requirements.txt'
        file.write_text(line + '\n')
        assert read_requirements(file) == [line]
